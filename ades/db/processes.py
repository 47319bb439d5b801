"""Persistence of the processes deployed through the API (OGC API – Processes Part 2): the
package text as deployed, per workspace, in the job store's database. A composite primary
key makes a concurrent second deploy of the same id fail in the database, not in a race."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from ades.db.schema import aware, deployed_processes
from ades.errors import DuplicatedProcess, NoSuchProcess
from ades.model import utcnow


@dataclass(frozen=True)
class DeployedPackage:
    workspace: str
    process_id: str
    alias: str | None
    package: str
    workflow_id: str | None
    source_name: str
    # The jobControlOptions the deploy request declared (None: as the package says).
    job_control: tuple[str, ...] | None = None
    revision: int = 1
    deployed: datetime | None = None
    updated: datetime | None = None


class ProcessStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    def add(self, package: DeployedPackage) -> DeployedPackage:
        """Store a new process; DuplicatedProcess when its id is taken in the workspace."""
        now = utcnow()
        row = _row(package) | {"revision": 1, "deployed": now, "updated": now}
        try:
            with self.engine.begin() as conn:
                conn.execute(deployed_processes.insert().values(**row))
        except IntegrityError:
            raise DuplicatedProcess(package.process_id, package.workspace) from None
        return self.get(package.workspace, package.process_id)

    def replace(self, package: DeployedPackage) -> DeployedPackage:
        table = deployed_processes
        with self.engine.begin() as conn:
            result = conn.execute(
                table.update()
                .where(
                    table.c.workspace == package.workspace,
                    table.c.process_id == package.process_id,
                )
                .values(**_row(package), revision=table.c.revision + 1, updated=utcnow())
            )
        if result.rowcount != 1:
            raise NoSuchProcess(package.process_id, package.workspace)
        return self.get(package.workspace, package.process_id)

    def remove(self, workspace: str, process_id: str) -> None:
        table = deployed_processes
        with self.engine.begin() as conn:
            result = conn.execute(
                table.delete().where(
                    table.c.workspace == workspace, table.c.process_id == process_id
                )
            )
        if result.rowcount != 1:
            raise NoSuchProcess(process_id, workspace)

    def find(self, workspace: str, process_id: str) -> DeployedPackage | None:
        """The process with this id, else the one with this alias, else None."""
        table = deployed_processes
        with self.engine.connect() as conn:
            for column in (table.c.process_id, table.c.alias):
                row = (
                    conn.execute(
                        select(table).where(table.c.workspace == workspace, column == process_id)
                    )
                    .mappings()
                    .first()
                )
                if row is not None:
                    return _package(row)
        return None

    def get(self, workspace: str, process_id: str) -> DeployedPackage:
        found = self.find(workspace, process_id)
        if found is None or found.process_id != process_id:
            raise NoSuchProcess(process_id, workspace)
        return found

    def list(self, workspace: str) -> list[DeployedPackage]:
        table = deployed_processes
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table).where(table.c.workspace == workspace).order_by(table.c.process_id)
            ).mappings()
            return [_package(r) for r in rows]


def _row(package: DeployedPackage) -> dict[str, object]:
    return {
        "workspace": package.workspace,
        "process_id": package.process_id,
        "alias": package.alias,
        "package": package.package,
        "workflow_id": package.workflow_id,
        "source_name": package.source_name,
        "job_control": ",".join(package.job_control) if package.job_control else None,
    }


def _package(row) -> DeployedPackage:  # type: ignore[no-untyped-def]
    return DeployedPackage(
        workspace=row["workspace"],
        process_id=row["process_id"],
        alias=row["alias"],
        package=row["package"],
        workflow_id=row["workflow_id"],
        source_name=row["source_name"],
        job_control=tuple(row["job_control"].split(",")) if row["job_control"] else None,
        revision=row["revision"],
        deployed=aware(row["deployed"]),
        updated=aware(row["updated"]),
    )
