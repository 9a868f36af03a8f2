"""Cases for a case-management system: create one for a caseworker, choose its deputy, close it.

Each call acts for a named staff member and is decided as it would be for them on
a screen (casework/service.py and policy/relations.py): the API adds no power.
"""

from __future__ import annotations

from typing import Any

from casefeedback.api.blueprint import about, answer, body, bp, on_behalf_of, staff_named
from casefeedback.api.operations import operation
from casefeedback.api.problems import FieldError, Problem
from casefeedback.api.schemas import ID, ON_BEHALF, USERNAME, answered, closed
from casefeedback.casework import service as casework
from casefeedback.casework.cases import CaseError, CaseNotFound, NotAllowed
from casefeedback.services import services

CASE_PATH = {"case_id": ID}
CASE: dict[str, Any] = answered(["id", "status"], id=ID, status={"type": "string", "enum": ["open", "closed"]})
NOT_YOURS = {404: "No such case among those this staff member may see",
             403: "The staff member may see the case but not change it",
             422: "The request names no active staff member, or the change is not possible"}


def _refused(error: Exception, field: str = "/on_behalf_of") -> Problem:
    if isinstance(error, CaseNotFound):
        return Problem(404, "No such case among those this staff member may see.")
    if isinstance(error, NotAllowed):
        return Problem(403, "This staff member may not make that change to the case.", kind="not-allowed")
    return Problem(422, str(error), [FieldError(field, str(error))], kind="refused")


@operation(bp, "/api/v1/cases", "POST", operation_id="createCase", summary="Create a case held by a caseworker",
           tag="Cases", scope="cases:write",
           body=closed(["owner", "service_id", "reference"], owner=USERNAME,
                       service_id={"type": "string", "minLength": 1, "maxLength": 64},
                       reference={"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^\S(.*\S)?$"}),
           responses={201: ("The case, open and held by the owner", CASE)},
           problems={422: "No such service, owner or team, or the owner already holds this reference"},
           description="The owner must be an active caseworker or supervisor in a team; the reference is the "
                       "case-management system's own.")
def create_case() -> Any:
    sent = body()
    owner = on_behalf_of(sent["owner"], "/owner")
    if services().policies.service(sent["service_id"]) is None:
        raise Problem(422, "There is no such service.", [FieldError("/service_id", "is not a service")])
    try:
        case_id = casework.open_case(services(), owner, service_id=sent["service_id"], reference=sent["reference"])
    except CaseError as error:
        raise _refused(error, "/owner") from None
    about(case_id)
    return answer({"id": case_id, "status": "open"}, 201)


@operation(bp, "/api/v1/cases/{case_id}/close", "POST", operation_id="closeCase", summary="Close a case",
           tag="Cases", scope="cases:write", path_params=CASE_PATH, body=ON_BEHALF,
           responses={200: ("The case, closed", answered(["id", "status", "changed"], id=ID,
                                                            status={"const": "closed"},
                                                            changed={"type": "boolean"}))},
           problems=NOT_YOURS, description="Its invitations stop working. ``changed`` is false if it was "
                                           "closed already.")
def close_case(case_id: str) -> Any:
    member = on_behalf_of(body()["on_behalf_of"])
    about(case_id)
    try:
        changed = casework.close(services(), member, case_id)
    except (CaseNotFound, NotAllowed) as error:
        raise _refused(error) from None
    return answer({"id": case_id, "status": "closed", "changed": changed})


@operation(bp, "/api/v1/cases/{case_id}/deputy", "PUT", operation_id="setDeputy",
           summary="Choose the caseworker who stands in for the case's owner", tag="Cases", scope="cases:write",
           path_params=CASE_PATH,
           body=closed(["on_behalf_of", "deputy"], on_behalf_of=USERNAME,
                       deputy={**USERNAME, "type": ["string", "null"],
                               "description": "A caseworker of the case's team, or null for none"}),
           responses={200: ("The case's deputy", answered(["id", "deputy"], id=ID,
                                                            deputy={"type": ["string", "null"]}))},
           problems=NOT_YOURS)
def set_deputy(case_id: str) -> Any:
    sent = body()
    member = on_behalf_of(sent["on_behalf_of"])
    about(case_id)
    deputy = None if sent["deputy"] is None else staff_named(sent["deputy"], "/deputy").id
    try:
        casework.choose_deputy(services(), member, case_id, deputy)
    except (CaseNotFound, NotAllowed, CaseError) as error:
        raise _refused(error, "/deputy") from None
    return answer({"id": case_id, "deputy": sent["deputy"]})

