"""One module per revision. A package, so that a non-editable install carries them."""
