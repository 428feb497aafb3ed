//! The district admin's page: partner organisations awaiting approval, staff accounts, and
//! the latest entries of the audit log.

use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::html;
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

use super::client::{Community, List, Refusal};
use super::layout::{Frame, Me};
use super::session::Visit;
use super::{Fields, Form, Web, failed, forbidden, see_other, signed_in};

#[derive(Deserialize)]
struct Partner {
    id: Uuid,
    name: String,
    credit_code: String,
    contact_name: String,
    contact_phone: String,
    description: String,
}

#[derive(Deserialize)]
struct Entry {
    action: String,
    object_type: String,
    reason: Option<String>,
    at: DateTime<Utc>,
}

pub async fn page(State(web): State<Web>, visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show(&web, &visit, &me, unread, None, None).await
}

async fn show(
    web: &Web,
    visit: &Visit,
    me: &Me,
    unread: u64,
    values: Option<&Fields>,
    refusal: Option<&Refusal>,
) -> Response {
    if !me.is("admin") {
        return failed(visit, Some(me), &Refusal::forbidden());
    }
    let api = visit.api();
    let (partners, audit, communities) = tokio::join!(
        api.get::<List<Partner>>("/api/v1/partners?status=pending&limit=50"),
        api.get::<List<Entry>>("/api/v1/audit?limit=30"),
        api.get::<List<Community>>("/api/v1/communities?limit=100"),
    );
    let (partners, audit, communities) = match (partners, audit, communities) {
        (Ok(p), Ok(a), Ok(c)) => (p.items, a.items, c.items),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return failed(visit, Some(me), &r),
    };
    let frame = Frame { visit, me: Some(me), unread };
    let tz = web.state.timezone();
    let value = |name: &str| values.and_then(|v| v.get(name)).unwrap_or_default().to_owned();
    let title = frame.t("区管理", "District admin");
    frame.titled(
        title,
        refusal,
        html! {
            p {
                a.button href="/admin/categories" { (frame.t("服务类别与时限", "Services and service levels")) } " "
                a.button href="/admin/places" { (frame.t("社区、小区与楼栋", "Communities and places")) } " "
                a.button href="/desk/partners" { (frame.t("合伙人与契约", "Partners and contracts")) }
            }
            section aria-labelledby="h-partners" {
                h2 id="h-partners" { (frame.t("待审核的合伙人", "Partners to vet")) " " span.count { (partners.len()) } }
                @if partners.is_empty() { p.muted { (frame.t("无", "None")) } }
                ul.cards {
                    @for p in &partners {
                        li.card {
                            p.title { (p.name) }
                            p.meta { (frame.t("信用代码 ", "Credit code ")) (p.credit_code) " · " (p.contact_name) " " (p.contact_phone) }
                            @if !p.description.is_empty() { p { (p.description) } }
                            form.inline method="post" action=(format!("/admin/partners/{}", p.id)) {
                                (frame.csrf())
                                button.primary type="submit" name="do" value="approve" { (frame.t("批准", "Approve")) }
                            }
                            (frame.with_reason(&format!("/admin/partners/{}", p.id), &p.id.to_string(),
                                frame.t("不批准", "Reject"), frame.t("确认不批准", "Reject"), "reject"))
                        }
                    }
                }
            }
            section aria-labelledby="h-staff" {
                h2 id="h-staff" { (frame.t("新建工作人员账户", "New staff account")) }
                form.stack method="post" action="/admin/staff" {
                    (frame.csrf())
                    label for="staff-name" { (frame.t("姓名", "Name")) }
                    input #staff-name name="display_name" required maxlength="50" value=(value("display_name"));
                    label for="staff-phone" { (frame.t("手机号", "Mobile number")) }
                    input #staff-phone name="phone" type="tel" inputmode="numeric" required value=(value("phone"));
                    label for="staff-password" { (frame.t("初始密码（至少8位）", "Initial password (8 or more)")) }
                    input #staff-password name="password" type="password" autocomplete="new-password" required minlength="8";
                    label for="staff-role" { (frame.t("角色", "Role")) }
                    select #staff-role name="role" {
                        option value="dispatcher" selected[value("role") != "admin"] { (frame.t("社区调度员", "Community dispatcher")) }
                        option value="admin" selected[value("role") == "admin"] { (frame.t("区管理员", "District admin")) }
                    }
                    label for="staff-community" { (frame.t("所属社区（调度员）", "Community (dispatchers)")) }
                    select #staff-community name="community_id" {
                        @for c in &communities {
                            option value=(c.id) selected[value("community_id") == c.id.to_string()] { (c.name) }
                        }
                    }
                    button.primary type="submit" { (frame.t("创建账户", "Create the account")) }
                }
            }
            section aria-labelledby="h-audit" {
                h2 id="h-audit" { (frame.t("审计日志（最近30条）", "Audit log (latest 30)")) }
                table {
                    thead { tr {
                        th scope="col" { (frame.t("时间", "When")) }
                        th scope="col" { (frame.t("操作", "Action")) }
                        th scope="col" { (frame.t("对象", "Object")) }
                        th scope="col" { (frame.t("原因", "Reason")) }
                    } }
                    tbody {
                        @for e in &audit {
                            tr {
                                td { (frame.time(e.at, tz)) }
                                td { code { (e.action) } }
                                td { (e.object_type) }
                                td { (e.reason.as_deref().unwrap_or_default()) }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub async fn partner(visit: Visit, Path(id): Path<Uuid>, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let (step, body) = match form.get("do") {
        Some("approve") => ("approve", json!({})),
        Some("reject") => ("reject", json!({ "reason": form.get("reason").unwrap_or_default() })),
        _ => return failed(&visit, None, &Refusal::bad_form()),
    };
    match visit.api().post::<serde::de::IgnoredAny>(&format!("/api/v1/partners/{id}/{step}"), body).await {
        Ok(_) => see_other("/admin"),
        Err(r) => failed(&visit, None, &r),
    }
}

pub async fn staff(State(web): State<Web>, visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let role = form.get("role").unwrap_or("dispatcher");
    let mut body = json!({
        "phone": form.get("phone").unwrap_or_default(),
        "password": form.get("password").unwrap_or_default(),
        "display_name": form.get("display_name").unwrap_or_default(),
        "roles": [role],
    });
    if role == "dispatcher" {
        body["community_id"] = json!(form.get("community_id").unwrap_or_default());
    }
    match visit.api().post::<serde::de::IgnoredAny>("/api/v1/users", body).await {
        Ok(_) => see_other("/admin"),
        Err(refusal) => match signed_in(&visit).await {
            Ok((me, unread)) => show(&web, &visit, &me, unread, Some(&form), Some(&refusal)).await,
            Err(response) => response,
        },
    }
}
