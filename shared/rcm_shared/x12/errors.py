"""X12 errors that say where: interchange, transaction, segment position, segment id, element."""

from __future__ import annotations


class X12Error(ValueError):
    """A problem in an X12 document, located precisely enough for a person to find and fix it."""

    def __init__(
        self,
        message: str,
        *,
        interchange: str | None = None,
        transaction: str | None = None,
        position: int | None = None,
        segment_id: str | None = None,
        element: int | None = None,
        code: str = "invalid",
    ) -> None:
        self.message = message
        self.interchange = interchange
        self.transaction = transaction
        self.position = position
        self.segment_id = segment_id
        self.element = element
        self.code = code
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where: list[str] = []
        if self.interchange:
            where.append(f"ISA {self.interchange}")
        if self.transaction:
            where.append(f"ST {self.transaction}")
        if self.position is not None:
            where.append(f"segment {self.position}" + (f" {self.segment_id}" if self.segment_id else ""))
        elif self.segment_id:
            where.append(f"segment {self.segment_id}")
        if self.element is not None:
            where.append(f"element {self.element:02d}")
        return (", ".join(where) + ": " if where else "") + self.message

    def as_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "code": self.code,
            "interchange": self.interchange,
            "transaction": self.transaction,
            "position": self.position,
            "segment_id": self.segment_id,
            "element": self.element,
        }


class UnsupportedVersion(X12Error):
    def __init__(self, version: str, **where: object) -> None:
        super().__init__(
            f"unsupported version {version!r}: only 5010 (00501 / 005010X...) is accepted",
            code="unsupported_version",
            **where,  # type: ignore[arg-type]
        )
