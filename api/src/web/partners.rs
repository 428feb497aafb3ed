//! The partners serving a community and their contracts (契约), for its staff: who may be
//! offered which services, until when, on what terms.

use std::collections::BTreeMap;

use axum::extract::Query;
use axum::response::Response;
use chrono::NaiveDate;
use maud::html;
use serde::Deserialize;
use uuid::Uuid;

use super::figures::Window;
use super::layout::Frame;
use super::session::Visit;
use super::{failed, signed_in};

#[derive(Deserialize)]
struct Page<T> {
    items: Vec<T>,
}

#[derive(Deserialize)]
struct Contract {
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
    if !me.staff() {
        return failed(&visit, Some(&me), &super::client::Refusal::forbidden());
    }
    let scope = window.community().or(me.user.community_id).map(|c| format!("&community_id={c}")).unwrap_or_default();
    let api = visit.api();
    let paths =
        (format!("/api/v1/contracts?limit=100{scope}"), format!("/api/v1/partners?status=approved&limit=100{scope}"));
    let (contracts, partners) = tokio::join!(api.get::<Page<Contract>>(&paths.0), api.get::<Page<Partner>>(&paths.1));
    let (contracts, partners) = match (contracts, partners) {
        (Ok(c), Ok(p)) => (c.items, p.items),
        (Err(r), _) | (_, Err(r)) => return failed(&visit, Some(&me), &r),
    };
    let names: BTreeMap<Uuid, &str> = partners.iter().map(|p| (p.id, p.name.as_str())).collect();
    let frame = Frame { visit: &visit, me: Some(&me), unread };
    let title = frame.t("合伙人与契约", "Partners and contracts");
    frame.page(
        title,
        html! {
            h1 { (title) }
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
                        }
                    }
                }
            }
        },
    )
}
