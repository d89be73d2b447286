"""How the contact center protects its customers' personal data."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from switchboard.api.types import ApiModel

# Five fields of a standard cron line (minute hour day-of-month month day-of-week), as a
# CronJob takes it; Kubernetes' own parser has the last word.
CRON_PATTERN = r"^(\S+\s+){4}\S+$"


class Retention(ApiModel):
    """How long ended conversations are kept."""

    days: int = Field(
        description=(
            "Conversations that ended (resolved or abandoned) more than this many days ago are "
            "deleted with their messages and events. Open conversations are never deleted."
        ),
        ge=1,
        le=36500,
    )
    schedule: Annotated[str, StringConstraints(max_length=100, pattern=CRON_PATTERN)] = Field(
        "17 3 * * *",
        description=(
            "When the purge runs, as a CronJob schedule (the cluster's time zone). Its first "
            "run only reports what it would delete (in the job's log and the store); the "
            "purges start with the next run."
        ),
    )


class DataProtection(ApiModel):
    """Personal data in conversations: where it is shown and written."""

    pii_masking: bool = Field(
        True,
        description=(
            "Mask payment card numbers (Luhn-valid, keeping the last four digits), e-mail "
            "addresses and phone numbers in customers' messages shown to agents and in every "
            "log line of the gateways, bot and agent workspace. The store keeps the "
            "conversation as the customer wrote it."
        ),
    )
    classification: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=63, pattern=r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
        ),
    ] = Field(
        "confidential",
        description=(
            "The data classification of the queue and the database, which hold customers' "
            "messages: the label `switchboard.io/data-classification` on their StatefulSets, "
            "pods and Services, for policy engines and backup tools to select by. A label "
            "value. Changing it restarts their pods (the label is on the pod template)."
        ),
    )
    retention: Retention | None = Field(
        None,
        description=(
            "Delete ended conversations after a number of days, by a CronJob the operator owns "
            "(its own ServiceAccount, with no API access). Unset: conversations are kept."
        ),
    )
    encryption_at_rest: Literal["Optional", "Required"] = Field(
        "Optional",
        description=(
            "Required: the built-in queue's and database's volumes must use a StorageClass that "
            "declares encryption at rest (the annotation `switchboard.io/encrypted-at-rest: "
            '"true"`, or its provisioner\'s encryption parameter: `encrypted: "true"`, '
            "`kmsKeyId`, `disk-encryption-kms-key`, `diskEncryptionSetID`); until they do, "
            "nothing is applied and Degraded says why (StorageNotEncrypted). External services "
            "are their operators' to encrypt."
        ),
    )
