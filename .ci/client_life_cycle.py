"""Drive an order's life cycle only through the Python client generated from /openapi.json.

Run by .ci/client.sh against a fresh server. An admin (made beforehand with
`shenbian admin create`) sets up a community, a compound, a building, a category and a
dispatcher, and approves a partner whose contract is recorded, signed and activated; a
resident registers, signs in and orders; the dispatcher dispatches the order to the
partner; the partner accepts. Every answer is checked as the typed object the client
returns, so a document that types an answer wrongly fails here.

Environment: SHENBIAN_BASE_URL, SHENBIAN_ADMIN_PHONE, SHENBIAN_ADMIN_PASSWORD.
"""

import datetime
import os
import sys
from typing import Any, TypeVar

from shenbian_api_client import AuthenticatedClient, Client
from shenbian_api_client.api.auth import login, register
from shenbian_api_client.api.catalogue import create_category, get_category
from shenbian_api_client.api.contracts import activate_contract, create_contract, sign_contract
from shenbian_api_client.api.orders import accept, create_order, dispatch, get_order, jobs, list_orders
from shenbian_api_client.api.partners import apply_partner, approve_partner
from shenbian_api_client.api.places import create_building, create_community, create_compound
from shenbian_api_client.api.users import create_user
from shenbian_api_client.models import (
    AddressBody,
    BuildingView,
    CategoryView,
    CommunityView,
    CompoundView,
    ContractStatus,
    ContractView,
    CreateCategory,
    CreateCommunity,
    CreateUserRequest,
    DispatchBody,
    LoginRequest,
    NameBody,
    NewContract,
    NewOrder,
    OrderStatus,
    OrderView,
    PaginatedJobView,
    PaginatedOrderView,
    PartnerApplication,
    PartnerKind,
    PartnerView,
    Pricing,
    ProviderStatus,
    RegisterRequest,
    RoleName,
    SignedIn,
    SlaBody,
    StepMinutesBody,
    TermsBody,
    Urgency,
    UserView,
)

BASE_URL = os.environ["SHENBIAN_BASE_URL"]
ADMIN_PHONE = os.environ["SHENBIAN_ADMIN_PHONE"]
ADMIN_PASSWORD = os.environ["SHENBIAN_ADMIN_PASSWORD"]
PASSWORD = "Client-Life-Cycle-1"
# The category the NewOrder example in the document names.
CATEGORY = "plumbing_electric"

T = TypeVar("T")


def step(what: str) -> None:
    print(f"[client_life_cycle] {what}", flush=True)


def expect(endpoint: Any, kind: type[T], **kwargs: Any) -> T:
    """Calls an endpoint module of the generated client; its answer must parse as `kind`."""
    response = endpoint.sync_detailed(**kwargs)
    if not isinstance(response.parsed, kind):
        name = endpoint.__name__.rsplit(".", 1)[-1]
        sys.exit(
            f"[client_life_cycle] {name}: expected {kind.__name__}, got HTTP {response.status_code}: "
            f"{response.content.decode(errors='replace')}"
        )
    return response.parsed


def check(condition: bool, message: str) -> None:
    if not condition:
        sys.exit(f"[client_life_cycle] {message}")


def credit_code(first16: str) -> str:
    """Completes a unified social credit code (GB 32100) with its two check characters."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    org = sum(int(c, 36) * w for c, w in zip(first16[8:16], [3, 7, 9, 10, 5, 8, 4, 2]))
    org_check = {11: "0", 10: "X"}.get(11 - org % 11, str(11 - org % 11))
    first17 = first16 + org_check
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(alphabet.index(c) * w for c, w in zip(first17, weights))
    return first17 + alphabet[(31 - total % 31) % 31]


def sign_in(public: Client, phone: str, password: str) -> AuthenticatedClient:
    signed_in = expect(login, SignedIn, client=public, body=LoginRequest(phone=phone, password=password))
    return AuthenticatedClient(base_url=BASE_URL, token=signed_in.access_token, raise_on_unexpected_status=True)


def main() -> None:
    public = Client(base_url=BASE_URL, raise_on_unexpected_status=True)

    step("the admin signs in and sets up a community, a compound, a building and a category")
    admin = sign_in(public, ADMIN_PHONE, ADMIN_PASSWORD)
    community = expect(
        create_community,
        CommunityView,
        client=admin,
        body=CreateCommunity(code="XFL", name="幸福里社区", street="和平街道"),
    )
    compound = expect(create_compound, CompoundView, client=admin, id=community.id, body=NameBody(name="阳光花园"))
    building = expect(create_building, BuildingView, client=admin, id=compound.id, body=NameBody(name="3号楼"))
    category = get_category.sync(client=admin, code=CATEGORY)
    if not isinstance(category, CategoryView):
        minutes = StepMinutesBody(dispatch=240, accept=120, complete=2880)
        category = expect(
            create_category,
            CategoryView,
            client=admin,
            body=CreateCategory(
                code=CATEGORY,
                name_zh="水电维修",
                name_en="Plumbing and electrics",
                group="生活服务",
                sla=SlaBody(normal=minutes, urgent=minutes, emergency=minutes),
            ),
        )
    check(category.code == CATEGORY, f"category code {category.code}")

    step("the admin makes a dispatcher for the community")
    dispatcher_user = expect(
        create_user,
        UserView,
        client=admin,
        body=CreateUserRequest(
            phone="13900000101",
            password=PASSWORD,
            display_name="李卫东",
            roles=[RoleName.DISPATCHER],
            community_id=community.id,
        ),
    )
    check(RoleName.DISPATCHER in dispatcher_user.roles, f"dispatcher roles {dispatcher_user.roles}")
    dispatcher = sign_in(public, "13900000101", PASSWORD)

    step("a partner's owner registers and applies; the admin approves")
    owner_phone = "13900000201"
    expect(
        register,
        SignedIn,
        client=public,
        body=RegisterRequest(phone=owner_phone, password=PASSWORD, display_name="张师傅"),
    )
    owner = sign_in(public, owner_phone, PASSWORD)
    partner = expect(
        apply_partner,
        PartnerView,
        client=owner,
        body=PartnerApplication(
            name="安居维修服务社",
            kind=PartnerKind.HOUSEHOLD,
            credit_code=credit_code("9111010557000001"),
            contact_name="张师傅",
            contact_phone=owner_phone,
        ),
    )
    partner = expect(approve_partner, PartnerView, client=admin, id=partner.id)
    check(partner.status == ProviderStatus.APPROVED, f"partner status {partner.status}")

    step("the admin records a contract, the owner signs it, the admin activates it")
    today = datetime.datetime.now(datetime.UTC).date()
    contract = expect(
        create_contract,
        ContractView,
        client=admin,
        body=NewContract(
            partner_id=partner.id,
            title="社区维修服务契约",
            community_ids=[community.id],
            category_codes=[CATEGORY],
            valid_from=today,
            valid_to=today + datetime.timedelta(days=365),
            terms=TermsBody(pricing=Pricing.FREE, max_open_jobs=5),
        ),
    )
    contract = expect(sign_contract, ContractView, client=owner, id=contract.id)
    contract = expect(activate_contract, ContractView, client=admin, id=contract.id)
    check(contract.status == ContractStatus.ACTIVE, f"contract status {contract.status}")

    step("a resident registers, signs in and orders")
    resident_phone = "13900000301"
    expect(
        register,
        SignedIn,
        client=public,
        body=RegisterRequest(phone=resident_phone, password=PASSWORD, display_name="王秀英"),
    )
    resident = sign_in(public, resident_phone, PASSWORD)
    order = expect(
        create_order,
        OrderView,
        client=resident,
        body=NewOrder(
            community_id=community.id,
            category_code=CATEGORY,
            title="厨房水管漏水",
            description="水槽下面的水管一直在滴水",
            address=AddressBody(compound_id=compound.id, building_id=building.id, unit="2", room="301"),
            urgency=Urgency.NORMAL,
        ),
    )
    check(order.status == OrderStatus.PENDING, f"a new order is pending, not {order.status}")

    step("the dispatcher dispatches the order to the partner")
    order = expect(dispatch, OrderView, client=dispatcher, id=order.id, body=DispatchBody(provider_ids=[partner.id]))
    check(order.status == OrderStatus.OFFERED, f"a dispatched order is offered, not {order.status}")

    step("the partner sees the job and accepts it (no body)")
    offered = expect(jobs, PaginatedJobView, client=owner)
    check(any(job.order.id == order.id for job in offered.items), "the offer is in the partner's jobs")
    order = expect(accept, OrderView, client=owner, id=order.id)
    check(order.status == OrderStatus.ACCEPTED, f"an accepted order is accepted, not {order.status}")

    step("the resident reads the order back, alone and in the list")
    mine = expect(get_order, OrderView, client=resident, id=order.id)
    check(mine.status == OrderStatus.ACCEPTED, f"the resident sees {mine.status}")
    page = expect(list_orders, PaginatedOrderView, client=resident)
    check(len(page.items) == 1, f"the resident has one order, not {len(page.items)}")
    check(isinstance(page.items[0], OrderView), f"a listed order is an OrderView, not {type(page.items[0])}")
    check(page.items[0].status == OrderStatus.ACCEPTED, f"the list says {page.items[0].status}")

    step("done: pending -> offered -> accepted through the generated client")


if __name__ == "__main__":
    main()
