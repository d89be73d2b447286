"""The ContactCenter API: pydantic models of spec and status, and the CRD generated from them."""

from switchboard.api.contactcenter import ContactCenter, ContactCenterSpec
from switchboard.api.status import Condition, ContactCenterStatus

__all__ = ["Condition", "ContactCenter", "ContactCenterSpec", "ContactCenterStatus"]
