//! The partners serving a community and their contracts (契约), for its staff: who may be
//! offered which services, until when, on what terms; recording a contract (a draft the
//! partner's admin signs in their inbox), activating, suspending and ending one.

use std::collections::BTreeMap;

use axum::extract::{Path, Query};
use axum::response::Response;
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use serde_json::json;

use super::client::{Category, Community, List, Refusal};
use super::figures::Window;
use super::layout::{Frame, Me};
use super::session::Visit;
use super::{Fields, Form, failed, forbidden, see_other, signed_in};

#[derive(Deserialize)]
struct Contract {
    id: Uuid,
    partner_id: Uuid,
    title: String,
    category_codes: Vec<String>,
    valid_from: NaiveDate,
    valid_to: NaiveDate,
    terms: Terms,
    status: String,
    open_jobs: i32,
}

#[derive(Deserialize)]
struct Terms {
    monthly_quota: Option<u32>,
    max_open_jobs: u32,
}

#[derive(Deserialize)]
struct Partner {
    id: Uuid,
    name: String,
    contact_name: String,
    contact_phone: String,
}

pub async fn page(visit: Visit, Query(window): Query<Window>) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show(&visit, &me, unread, window.community(), None, None).await
}

async fn show(
    visit: &Visit,
    me: &Me,
    unread: u64,
    community: Option<Uuid>,
    values: Option<&Fields>,
    refusal: Option<&Refusal>,
) -> Response {
    if !me.staff() {
        return failed(visit, Some(me), &Refusal::forbidden());
    }
    let community = community.or(me.user.community_id);
    let scope = community.map(|c| format!("&community_id={c}")).unwrap_or_default();
    let api = visit.api();
    let (all_partners, communities, categories) = tokio::join!(
        api.get::<List<Partner>>("/api/v1/partners?status=approved&limit=100"),
        api.get::<List<Community>>("/api/v1/communities?limit=100"),
        api.get::<List<Category>>("/api/v1/categories?limit=100"),
    );
    let (all_partners, communities, categories) = match (all_partners, communities, categories) {
        (Ok(p), Ok(c), Ok(k)) => (p.items, c.items, k.items),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return failed(visit, Some(me), &r),
    };
    let communities: Vec<Community> =
        communities.into_iter().filter(|c| me.is("admin") || Some(c.id) == me.user.community_id).collect();
    let value = |name: &str| values.and_then(|v| v.get(name)).unwrap_or_default().to_owned();
    let chosen = |name: &str, v: &str| values.is_some_and(|f| f.all(name).any(|x| x == v));
    let paths =
        (format!("/api/v1/contracts?limit=100{scope}"), format!("/api/v1/partners?status=approved&limit=100{scope}"));
    let (contracts, partners) = tokio::join!(api.get::<List<Contract>>(&paths.0), api.get::<List<Partner>>(&paths.1));
    let (contracts, partners) = match (contracts, partners) {
        (Ok(c), Ok(p)) => (c.items, p.items),
        (Err(r), _) | (_, Err(r)) => return failed(visit, Some(me), &r),
    };
    let names: BTreeMap<Uuid, &str> = all_partners.iter().map(|p| (p.id, p.name.as_str())).collect();
    let frame = Frame { visit, me: Some(me), unread };
    let title = frame.t("合伙人与契约", "Partners and contracts");
    frame.titled(
        title,
        refusal,
        html! {
            h2 { (frame.t("服务本社区的合伙人", "Partners serving the community")) }
            table {
                thead { tr {
                    th scope="col" { (frame.t("合伙人", "Partner")) }
                    th scope="col" { (frame.t("联系人", "Contact")) }
                } }
                tbody { @for p in &partners { tr { td { (p.name) } td { (p.contact_name) " " (p.contact_phone) } } } }
            }
            h2 { (frame.t("契约", "Contracts")) }
            table {
                thead { tr {
                    th scope="col" { (frame.t("契约", "Contract")) }
                    th scope="col" { (frame.t("合伙人", "Partner")) }
                    th scope="col" { (frame.t("服务", "Services")) }
                    th scope="col" { (frame.t("有效期", "Valid")) }
                    th scope="col" { (frame.t("状态", "Status")) }
                    th scope="col" { (frame.t("在办/上限", "Open/limit")) }
                    th scope="col" { (frame.t("月配额", "Monthly quota")) }
                    th scope="col" { (frame.t("操作", "Action")) }
                } }
                tbody {
                    @for c in &contracts {
                        tr {
                            td { (c.title) }
                            td { (names.get(&c.partner_id).copied().unwrap_or("—")) }
                            td { (c.category_codes.join(", ")) }
                            td { (c.valid_from) " – " (c.valid_to) }
                            td { (c.status) }
                            td { (c.open_jobs) "/" (c.terms.max_open_jobs) }
                            td { (c.terms.monthly_quota.map_or_else(|| "—".to_owned(), |q| q.to_string())) }
                            td {
                                @if c.status == "signed" || c.status == "suspended" {
                                    form.inline method="post" action=(format!("/desk/contracts/{}", c.id)) {
                                        (frame.csrf())
                                        button type="submit" name="do" value="activate" { (frame.t("生效", "Activate")) }
                                    }
                                }
                                @if c.status == "active" {
                                    (frame.with_reason(&format!("/desk/contracts/{}", c.id), &c.id.to_string(),
                                        frame.t("暂停", "Suspend"), frame.t("确认暂停", "Suspend"), "suspend"))
                                }
                                @if c.status == "draft" { span.muted { (frame.t("待合伙人签署", "awaiting the partner's signature")) } }
                            }
                        }
                    }
                }
            }
            h2 { (frame.t("登记新契约", "Record a contract")) }
            form.stack method="post" action="/desk/contracts" {
                (frame.csrf())
                label for="contract-partner" { (frame.t("合伙人", "Partner")) }
                select #contract-partner name="partner_id" required {
                    @for p in &all_partners { option value=(p.id) selected[value("partner_id") == p.id.to_string()] { (p.name) } }
                }
                label for="contract-title" { (frame.t("契约名称", "Title")) }
                input #contract-title name="title" required maxlength="200" value=(value("title"));
                fieldset {
                    legend { (frame.t("服务的社区", "Communities served")) }
                    @for c in &communities {
                        label.choice {
                            input type="checkbox" name="community_ids" value=(c.id)
                                checked[chosen("community_ids", &c.id.to_string()) || communities.len() == 1];
                            " " (c.name)
                        }
                    }
                }
                fieldset {
                    legend { (frame.t("服务类别", "Services")) }
                    @for k in categories.iter().filter(|k| k.active) {
                        label.choice {
                            input type="checkbox" name="category_codes" value=(k.code) checked[chosen("category_codes", &k.code)];
                            " " (k.name(visit.en()))
                        }
                    }
                }
                div.pair {
                    div {
                        label for="valid-from" { (frame.t("起始日", "From")) }
                        input #valid-from name="valid_from" type="date" required value=(value("valid_from"));
                    }
                    div {
                        label for="valid-to" { (frame.t("截止日", "To")) }
                        input #valid-to name="valid_to" type="date" required value=(value("valid_to"));
                    }
                }
                label for="pricing" { (frame.t("收费方式", "Pricing")) }
                select #pricing name="pricing" {
                    @for (code, zh, en) in [("free", "公益免费", "free"), ("discount", "优惠价", "discount"), ("market", "市场价", "market")] {
                        option value=(code) selected[value("pricing") == code] { (if visit.en() { en } else { zh }) }
                    }
                }
                div.pair {
                    div {
                        label for="max-open-jobs" { (frame.t("同时在办上限", "Open jobs at most")) }
                        input #max-open-jobs name="max_open_jobs" type="number" min="1" required inputmode="numeric"
                            value=(if value("max_open_jobs").is_empty() { "10".to_owned() } else { value("max_open_jobs") });
                    }
                    div {
                        label for="monthly-quota" { (frame.t("每月配额（可不填）", "Monthly quota (optional)")) }
                        input #monthly-quota name="monthly_quota" type="number" min="1" inputmode="numeric" value=(value("monthly_quota"));
                    }
                }
                button.primary type="submit" { (frame.t("登记（待合伙人签署）", "Record (for the partner to sign)")) }
            }
        },
    )
}

/// A number from a form, or the text as typed (for the API to refuse).
fn number(form: &Fields, name: &str) -> serde_json::Value {
    let raw = form.get(name).unwrap_or_default().trim();
    raw.parse::<u32>().map_or_else(|_| json!(raw), |n| json!(n))
}

pub async fn record(visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let mut terms =
        json!({ "pricing": form.get("pricing").unwrap_or("free"), "max_open_jobs": number(&form, "max_open_jobs") });
    if form.text("monthly_quota").is_some() {
        terms["monthly_quota"] = number(&form, "monthly_quota");
    }
    let body = json!({
        "partner_id": form.get("partner_id").unwrap_or_default(),
        "title": form.get("title").unwrap_or_default(),
        "community_ids": form.all("community_ids").collect::<Vec<_>>(),
        "category_codes": form.all("category_codes").collect::<Vec<_>>(),
        "valid_from": form.get("valid_from").unwrap_or_default(),
        "valid_to": form.get("valid_to").unwrap_or_default(),
        "terms": terms,
    });
    match visit.api().post::<serde::de::IgnoredAny>("/api/v1/contracts", body).await {
        Ok(_) => see_other("/desk/partners"),
        Err(refusal) => match signed_in(&visit).await {
            Ok((me, unread)) => show(&visit, &me, unread, None, Some(&form), Some(&refusal)).await,
            Err(response) => response,
        },
    }
}

/// A contract's step: activate or suspend (staff), sign (the partner's admin).
pub async fn step(visit: Visit, Path(id): Path<Uuid>, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let (step, body, back) = match form.get("do") {
        Some("activate") => ("activate", json!({}), "/desk/partners"),
        Some("suspend") => ("suspend", json!({ "reason": form.get("reason").unwrap_or_default() }), "/desk/partners"),
        Some("sign") => ("sign", json!({}), "/inbox"),
        _ => return failed(&visit, None, &Refusal::bad_form()),
    };
    match visit.api().post::<serde::de::IgnoredAny>(&format!("/api/v1/contracts/{id}/{step}"), body).await {
        Ok(_) => see_other(back),
        Err(r) => failed(&visit, None, &r),
    }
}
