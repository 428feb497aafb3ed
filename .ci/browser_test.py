"""The web front in a real browser (Debian's chromium driven by Playwright for Python).

Three people at once, each in a browser context of their own: a resident on a 375-px phone
orders a service; the dispatcher's desk shows it without reloading and she dispatches it;
the partner's inbox shows the offer live and he accepts; the resident's page follows each
step live; the partner starts and completes, the resident confirms and rates. Then a refused
step (an offer already accepted) shown as a message, forms without their token or from
another site refused, no inline script under the Content-Security-Policy, large-type mode,
and axe-core's check of every page (no serious or critical violation). Screenshots of every
page at 375 and 1280 px go to the report directory.

Usage: browser_test.py BASE_URL REPORT_DIR AXE_JS
"""

import json
import os
import re
import sys
import time
import urllib.request

from playwright.sync_api import expect, sync_playwright

BASE, REPORT, AXE = sys.argv[1], sys.argv[2], sys.argv[3]
PASSWORD = "shenbian-demo-2026"
RESIDENT, PARTNER, VOLUNTEER, ADMIN = "13900000400", "13900000200", "13900000300", "13900000000"
DISPATCHERS = ["13900000100", "13900000101", "13900000102"]
PARTNER_NAME = "明理律师事务所"
LIVE = 10_000  # ms: how long a live update may take before the test fails
SHOTS = os.path.join(REPORT, "screens")
os.makedirs(SHOTS, exist_ok=True)
checked_pages = []
with open(AXE, encoding="utf-8") as f:
    AXE_SOURCE = f.read() + "\n;undefined"


def api(method, path, token=None, body=None):
    req = urllib.request.Request(BASE + "/api/v1" + path, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, data) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def token(phone):
    status, body = api("POST", "/auth/login", body={"phone": phone, "password": PASSWORD})
    assert status == 200, (phone, status)
    return body["access_token"]


def sign_in(page, phone):
    page.goto(BASE + "/login")
    page.fill("#phone", phone)
    page.fill("#password", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    expect(page.locator("nav .who")).to_be_visible()


def shoot(page, name):
    """A full-page screenshot at the page's width, then at the other width."""
    width = page.viewport_size["width"]
    for w in (width, 1280 if width == 375 else 375):
        page.set_viewport_size({"width": w, "height": 800})
        page.screenshot(path=os.path.join(SHOTS, f"{name}-{w}.png"), full_page=True)
    page.set_viewport_size({"width": width, "height": 800})


def check_page(page, name):
    """No inline script, no CSP violation, axe-core finds nothing serious; a screenshot."""
    html = page.content()
    assert "<script>" not in html and "onclick=" not in html, f"{name}: inline script"
    # Through the DevTools protocol: the page's own policy forbids injected scripts.
    page.evaluate(AXE_SOURCE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: axe-core: " + json.dumps(
        [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in bad], ensure_ascii=False)
    shoot(page, name)
    checked_pages.append(name)


def main():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        console_errors = []

        def context(width):
            ctx = browser.new_context(viewport={"width": width, "height": 800}, locale="zh-CN")
            page = ctx.new_page()
            # A refused form answers 4xx on purpose; anything else (a policy violation, a
            # script error, a missing asset) fails the test.
            page.on("console", lambda m: m.type == "error" and "status of 4" not in m.text
                    and console_errors.append(m.text))
            return ctx, page

        _, resident = context(375)
        _, desk = context(1280)
        _, partner = context(375)

        # Before signing in: the sign-in page; pages need a session.
        resident.goto(BASE + "/my")
        expect(resident).to_have_url(BASE + "/login")
        check_page(resident, "login")
        sign_in(resident, RESIDENT)
        check_page(resident, "resident-orders")

        # The resident orders legal advice.
        resident.click("a[href='/orders/new']")
        if resident.locator("a[href^='/orders/new?community=']").count():
            check_page(resident, "choose-community")
            resident.click("a[href^='/orders/new?community=']")
        check_page(resident, "new-order")
        # A refused field keeps what she typed and says what is wrong.
        resident.select_option("#category_code", "legal_advice")
        resident.fill("#title", "咨询租房合同纠纷")
        resident.fill("#description", "房东不退押金，想请律师看看合同")
        resident.fill("#contact_phone", "12345")
        resident.click("form[action='/orders/new'] button[type=submit]")
        expect(resident.locator(".field-error")).to_be_visible()
        expect(resident.locator("#title")).to_have_value("咨询租房合同纠纷")
        resident.fill("#contact_phone", "")

        # The dispatcher of the order's community and the partner wait on their pages.
        resident.click("form[action='/orders/new'] button[type=submit]")
        expect(resident.locator("#order .meta .status")).to_have_text("待派单")
        order_id = resident.url.rsplit("/", 1)[1]
        number = resident.locator("#order .meta").inner_text().split(" · ")[0]
        check_page(resident, "order-pending")
        who = [d for d in DISPATCHERS if api("GET", f"/orders/{order_id}", token(d))[0] == 200]
        assert len(who) == 1, who
        sign_in(desk, who[0])
        expect(desk).to_have_url(BASE + "/desk")
        expect(desk.locator(".q-pending")).to_contain_text(number)
        sign_in(partner, PARTNER)
        expect(partner).to_have_url(BASE + "/inbox")

        # A second order appears on the desk without a reload.
        expect(desk.locator("body[data-live=open]")).to_be_attached(timeout=LIVE)
        status, second = api("POST", "/orders", token(RESIDENT), {
            "community_id": api("GET", f"/orders/{order_id}", token(who[0]))[1]["community_id"],
            "category_code": "legal_advice", "title": "第二单：遗嘱咨询", "description": "想了解遗嘱公证",
            "address": {"compound_id": api("GET", f"/orders/{order_id}", token(RESIDENT))[1]["address"]["compound_id"]}})
        assert status == 201, status
        expect(desk.locator(".q-pending")).to_contain_text("第二单：遗嘱咨询", timeout=LIVE)
        check_page(desk, "desk")

        # She offers it to the partner, from the ranked candidates.
        desk.goto(f"{BASE}/orders/{order_id}")
        candidates = desk.locator("label.candidate")
        expect(candidates.first).to_be_visible()
        for i in range(candidates.count()):
            candidates.nth(i).locator("input").set_checked(PARTNER_NAME in candidates.nth(i).inner_text())
        check_page(desk, "dispatch")
        desk.click("button[value=dispatch]")
        expect(desk.locator("#order .meta .status")).to_have_text("已派单、待接单")

        # The partner's inbox shows the offer live; a stale copy of the order page waits.
        expect(partner.locator("li.offer", has_text=number)).to_be_visible(timeout=LIVE)
        check_page(partner, "inbox")
        stale_ctx = browser.new_context(java_script_enabled=False, locale="zh-CN")
        stale = stale_ctx.new_page()
        sign_in(stale, PARTNER)
        stale.goto(f"{BASE}/orders/{order_id}")
        expect(stale.locator("button[value=accept]")).to_be_visible()
        partner.locator("li.offer", has_text=number).locator("button[value=accept]").click()
        expect(partner.locator("section[aria-labelledby=h-assigned]")).to_contain_text(number)

        # The resident's page followed without a reload.
        expect(resident.locator("#order .meta .status")).to_have_text("已接单", timeout=LIVE)
        expect(resident.locator(".timeline")).to_contain_text("接单")

        # The stale page's accept is refused with the API's words, and nothing changes.
        stale.click("button[value=accept]")
        expect(stale.locator(".notice.error")).to_be_visible()
        assert "已" in stale.locator(".notice.error").inner_text()
        shoot(stale, "refused-step")  # scripts are off in this context: axe cannot run here

        # Start and complete; the resident confirms and rates.
        partner.goto(f"{BASE}/orders/{order_id}")
        partner.click("button[value=start]")
        expect(partner.locator("#order .meta .status")).to_have_text("服务中")
        partner.fill("#summary", "已审阅合同并给出书面意见")
        check_page(partner, "complete")
        partner.click("button[value=complete]")
        expect(partner.locator("#order .meta .status")).to_have_text("已完成、待确认")
        expect(resident.locator("#order .meta .status")).to_have_text("已完成、待确认", timeout=LIVE)
        resident.click("button[value=confirm]")
        expect(resident.locator("#order .meta .status")).to_have_text("已结束")
        check_page(resident, "order-closed")
        resident.check("input[name=stars][value='4']")
        resident.fill("#comment", "律师很耐心")
        resident.click("button[value=rate]")
        expect(resident.locator(".timeline")).to_contain_text("评价")
        expect(resident.locator("button[value=rate]")).to_have_count(0)

        # Notices.
        resident.goto(BASE + "/notifications")
        expect(resident.locator("#notices li").first).to_be_visible()
        check_page(resident, "notifications")

        # Forms without this browser's token, or from another site, are refused.
        r = resident.request.post(f"{BASE}/orders/{order_id}", form={"do": "dispute", "reason": "x", "csrf": "forged"})
        assert r.status == 403, r.status
        csrf = resident.locator("input[name=csrf]").first.get_attribute("value")
        r = resident.request.post(f"{BASE}/orders/{order_id}", form={"do": "dispute", "reason": "x", "csrf": csrf},
                                  headers={"Origin": "https://evil.example"})
        assert r.status == 403, r.status
        assert api("GET", f"/orders/{order_id}", token(RESIDENT))[1]["status"] == "closed"

        # Every page is sent with the policy.
        policy = resident.request.get(BASE + "/my").headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, policy

        # Large type: bigger letters, still usable at 375 px.
        resident.goto(BASE + "/my")
        base_size = resident.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        resident.click("button[name=large]")
        expect(resident.locator("html.large")).to_be_attached()
        large_size = resident.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert large_size >= base_size * 1.3, (base_size, large_size)
        overflow = resident.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, "large type overflows a 375-px screen"
        check_page(resident, "large-type")
        resident.goto(f"{BASE}/orders/{order_id}")
        check_page(resident, "order-large-type")

        # English.
        resident.click("button[name=lang]")
        expect(resident.locator("html[lang=en]")).to_be_attached()
        expect(resident.locator("#order .meta .status")).to_have_text("closed")

        # An internal note: the desk sees it, the resident never does.
        desk.goto(f"{BASE}/orders/{order_id}")
        desk.fill("#note", "已电话回访，居民满意")
        desk.click("button[value=note]")
        expect(desk.locator("section[aria-labelledby=h-notes]")).to_contain_text("已电话回访，居民满意")
        resident.goto(f"{BASE}/orders/{order_id}")
        expect(resident.locator("main")).not_to_contain_text("已电话回访")

        # Hotline intake: the dispatcher enters a caller's order and reads out the claim code.
        desk.goto(BASE + "/desk/intake")
        caller = "137" + str(time.time_ns() % 10**8).zfill(8)
        desk.fill("#caller_phone", caller)
        desk.fill("#caller_name", "张桂兰")
        desk.select_option("#category_code", "legal_advice")
        desk.fill("#title", "老人咨询赡养纠纷")
        desk.fill("#description", "电话来访，希望律师回电")
        check_page(desk, "hotline-intake")
        desk.click("form[action='/desk/intake'] button[type=submit]")
        expect(desk.locator("#claim-code")).to_have_text(re.compile(r"^\d{8}$"))
        check_page(desk, "hotline-entered")
        desk.click("a.button.primary")
        expect(desk.locator("#order .meta .status")).to_have_text("待派单")
        expect(desk.locator("#order")).to_contain_text(caller)

        # A volunteer's application, approved on the desk.
        community_id = api("GET", f"/orders/{order_id}", token(who[0]))[1]["community_id"]
        applicant_phone = "136" + str(time.time_ns() % 10**8).zfill(8)
        status, signed = api("POST", "/auth/register", body={"phone": applicant_phone, "password": PASSWORD,
                                                             "display_name": "周志强"})
        assert status == 201, status
        status, _ = api("POST", "/volunteers", signed["access_token"], {
            "skills": ["legal_advice"], "community_id": community_id, "building_ids": [], "bio": "退休教师"})
        assert status == 201, status
        desk.goto(BASE + "/desk")
        application = desk.locator("li.card", has_text="周志强")
        application.locator("button[value=approve]").click()
        expect(desk.locator("li.card", has_text="周志强")).to_have_count(0)
        mine = api("GET", "/me", signed["access_token"])[1]
        assert [v["status"] for v in mine["volunteers"]] == ["approved"], mine["volunteers"]

        # The community's figures, and its orders as CSV.
        desk.goto(BASE + "/desk")
        desk.click("a[href='/desk/figures']")
        expect(desk.locator("figure.chart svg rect").first).to_be_attached()
        check_page(desk, "desk-figures")
        with desk.expect_download() as download:
            desk.click("a[href^='/desk/export.csv']")
        csv_text = open(download.value.path(), encoding="utf-8-sig").read()
        assert number in csv_text, csv_text[:200]

        # The partners serving the community and their contracts.
        desk.goto(BASE + "/desk/partners")
        expect(desk.locator("main table").first).to_contain_text(PARTNER_NAME)
        check_page(desk, "desk-partners")

        # A contract: the desk records it, the partner's admin signs it in the inbox, the desk
        # puts it in force.
        desk.goto(BASE + "/desk/partners")
        desk.select_option("#contract-partner", label=PARTNER_NAME)
        desk.fill("#contract-title", "心理疏导进社区契约")
        desk.check("input[name=category_codes][value=counselling]")
        desk.fill("#valid-from", "2026-01-01")
        desk.fill("#valid-to", "2027-12-31")
        desk.click("form[action='/desk/contracts'] button[type=submit]")
        row = desk.locator("tr", has_text="心理疏导进社区契约")
        expect(row).to_contain_text("draft")
        partner.goto(BASE + "/inbox")
        partner.locator("li.card", has_text="心理疏导进社区契约").locator("button[value=sign]").click()
        desk.goto(BASE + "/desk/partners")
        desk.locator("tr", has_text="心理疏导进社区契约").locator("button[value=activate]").click()
        expect(desk.locator("tr", has_text="心理疏导进社区契约")).to_contain_text("active")

        # A volunteer's inbox shows her hours.
        _, volunteer = context(375)
        sign_in(volunteer, VOLUNTEER)
        expect(volunteer).to_have_url(BASE + "/inbox")
        expect(volunteer.locator("section[aria-labelledby^=h-hours] .readout")).to_contain_text("小时")
        check_page(volunteer, "volunteer-inbox")

        # The district admin: partners to vet, a new staff account, the audit log.
        _, admin = context(1280)
        sign_in(admin, ADMIN)
        expect(admin).to_have_url(BASE + "/admin")
        staff_phone = "135" + str(time.time_ns() % 10**8).zfill(8)
        admin.fill("#staff-name", "赵敏")
        admin.fill("#staff-phone", staff_phone)
        admin.fill("#staff-password", "staff-password-2026")
        admin.select_option("#staff-role", "dispatcher")
        check_page(admin, "admin")
        admin.click("form[action='/admin/staff'] button[type=submit]")
        expect(admin.locator("section[aria-labelledby=h-audit]")).to_contain_text("user.create")
        status, _ = api("POST", "/auth/login", body={"phone": staff_phone, "password": "staff-password-2026"})
        assert status == 200, "the new dispatcher signs in"

        # The catalogue and the places.
        admin.goto(BASE + "/admin/categories")
        card = admin.locator("li.card", has_text="housekeeping")
        card.locator("button[value=deactivate]").click()
        expect(admin.locator("li.card", has_text="housekeeping").locator("button[value=activate]")).to_be_visible()
        status, listed = api("GET", "/categories/housekeeping")
        assert status == 200 and listed["active"] is False, listed
        admin.locator("li.card", has_text="housekeeping").locator("button[value=activate]").click()
        check_page(admin, "admin-categories")
        admin.goto(BASE + "/admin/places")
        first_building = admin.locator("form[action$='/buildings'] input[name=name]").first
        first_building.fill("9号楼")
        first_building.press("Enter")
        expect(admin.locator("main")).to_contain_text("9号楼")
        check_page(admin, "admin-places")

        # Large type on the staff's and the partner's pages, at 375 px.
        for page, paths in ((desk, ["/desk", f"/orders/{order_id}", "/desk/figures"]), (partner, ["/inbox"]),
                            (admin, ["/admin"])):
            page.context.add_cookies([{"name": "sb_large", "value": "1", "url": BASE}])
            page.set_viewport_size({"width": 375, "height": 800})
            for path in paths:
                page.goto(BASE + path)
                expect(page.locator("html.large")).to_be_attached()
                overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
                assert not overflow, f"{path} in large type overflows 375 px"
                check_page(page, "large" + path.replace("/", "-").replace(order_id, "order"))

        # The public figures, without signing in.
        _, visitor = context(375)
        visitor.goto(BASE + "/public")
        visitor.locator("a.title").first.click()
        expect(visitor.locator("figure.chart svg")).to_be_visible()
        check_page(visitor, "public-figures")

        # Her account: data to download, closing.
        resident.goto(BASE + "/account")
        with resident.expect_download() as download:
            resident.click("a[href='/account/export']")
        exported = json.loads(open(download.value.path(), encoding="utf-8").read())
        assert any(o["order"]["id"] == order_id for o in exported["orders"]), list(exported)
        check_page(resident, "account")

        # Signing out ends the session: the old cookie opens nothing.
        resident.click("nav form[action='/logout'] button")
        expect(resident).to_have_url(BASE + "/login")
        resident.goto(BASE + "/my")
        expect(resident).to_have_url(BASE + "/login")

        assert not console_errors, console_errors
        browser.close()
    print(f"browser: the whole story passed; pages checked: {', '.join(checked_pages)}")


if __name__ == "__main__":
    main()
