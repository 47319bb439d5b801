"""Who is calling: the principal a request's credentials prove, and the authenticators of
each ``ADES_AUTH`` mode that turn a bearer token into one."""
