//! The district's catalogue and places, for admins: categories with their service levels
//! (minutes to dispatch, accept and complete per urgency), switched on or off; communities
//! with their compounds and buildings. Dispatchers add compounds and buildings to their own
//! community here too.

use axum::extract::Path;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::client::{List, Refusal};
use super::layout::{Frame, Me};
use super::session::Visit;
use super::{Fields, Form, failed, forbidden, see_other, signed_in};

#[derive(Deserialize)]
struct Category {
    code: String,
    name_zh: String,
    name_en: String,
    group: String,
    sla: Sla,
    active: bool,
}

#[derive(Deserialize)]
struct Sla {
    normal: Steps,
    urgent: Steps,
    emergency: Steps,
}

#[derive(Deserialize)]
struct Steps {
    dispatch: u32,
    accept: u32,
    complete: u32,
}

#[derive(Deserialize)]
struct Community {
    id: Uuid,
    code: String,
    name: String,
    street: String,
}

#[derive(Deserialize)]
struct Compound {
    id: Uuid,
    name: String,
    #[serde(default)]
    buildings: Vec<Building>,
}

#[derive(Deserialize)]
struct Building {
    name: String,
}

const URGENCIES: [(&str, &str, &str); 3] =
    [("normal", "一般", "normal"), ("urgent", "紧急", "urgent"), ("emergency", "特急", "emergency")];
const STEPS: [(&str, &str, &str); 3] =
    [("dispatch", "派单", "dispatch"), ("accept", "接单", "accept"), ("complete", "完成", "complete")];

pub async fn categories(visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show_categories(&visit, &me, unread, None).await
}

async fn show_categories(visit: &Visit, me: &Me, unread: u64, refusal: Option<&Refusal>) -> Response {
    if !me.is("admin") {
        return failed(visit, Some(me), &Refusal::forbidden());
    }
    let list: List<Category> = match visit.api().get("/api/v1/categories?limit=100").await {
        Ok(c) => c,
        Err(r) => return failed(visit, Some(me), &r),
    };
    let frame = Frame { visit, me: Some(me), unread };
    let title = frame.t("服务类别与时限", "Services and service levels");
    frame.titled(
        title,
        refusal,
        html! {
            p.muted { (frame.t("时限单位为分钟：派单（下单起）、接单（每次派单起）、完成（接单起）。", "Minutes: to dispatch (from the order), to accept (from each dispatch), to complete (from acceptance).")) }
            ul.cards {
                @for c in &list.items {
                    li.card {
                        p.title { (if visit.en() { &c.name_en } else { &c.name_zh }) " " code { (c.code) } }
                        p.meta {
                            (c.group) " · "
                            @if c.active { (frame.t("启用中", "active")) } @else { (frame.t("已停用", "inactive")) }
                        }
                        p.meta {
                            @for ((_, zh, en), s) in URGENCIES.iter().zip([&c.sla.normal, &c.sla.urgent, &c.sla.emergency]) {
                                (if visit.en() { *en } else { *zh }) " " (s.dispatch) "/" (s.accept) "/" (s.complete) "　"
                            }
                        }
                        form.inline method="post" action=(format!("/admin/categories/{}", c.code)) {
                            (frame.csrf())
                            @if c.active {
                                button type="submit" name="do" value="deactivate" { (frame.t("停用", "Switch off")) }
                            } @else {
                                button type="submit" name="do" value="activate" { (frame.t("启用", "Switch on")) }
                            }
                        }
                        details {
                            summary { (frame.t("修改时限", "Change the service levels")) }
                            form.stack method="post" action=(format!("/admin/categories/{}", c.code)) {
                                (frame.csrf())
                                (sla_fields(&frame, &c.code, Some(&c.sla)))
                                button type="submit" name="do" value="sla" { (frame.t("保存", "Save")) }
                            }
                        }
                    }
                }
            }
            h2 { (frame.t("新增服务类别", "A new service")) }
            form.stack method="post" action="/admin/categories" {
                (frame.csrf())
                label for="new-code" { (frame.t("代码（小写英文，如 legal_advice）", "Code (lowercase, e.g. legal_advice)")) }
                input #new-code name="code" required maxlength="32" pattern="[a-z][a-z0-9_]*";
                label for="new-name-zh" { (frame.t("中文名称", "Chinese name")) }
                input #new-name-zh name="name_zh" required maxlength="50";
                label for="new-name-en" { (frame.t("英文名称", "English name")) }
                input #new-name-en name="name_en" required maxlength="100";
                label for="new-group" { (frame.t("分组", "Group")) }
                input #new-group name="group" required maxlength="50";
                (sla_fields(&frame, "new", None))
                button.primary type="submit" { (frame.t("新增", "Add")) }
            }
        },
    )
}

/// Nine minute fields: three steps for each urgency.
fn sla_fields(frame: &Frame, prefix: &str, now: Option<&Sla>) -> Markup {
    html! {
        @for (i, (urgency, zh, en)) in URGENCIES.iter().enumerate() {
            fieldset {
                legend { (if frame.visit.en() { *en } else { *zh }) }
                div.pair {
                    @for (step, szh, sen) in STEPS {
                        @let id = format!("{prefix}-{urgency}-{step}");
                        @let value = now.map(|s| {
                            let steps = [&s.normal, &s.urgent, &s.emergency][i];
                            match step { "dispatch" => steps.dispatch, "accept" => steps.accept, _ => steps.complete }
                        });
                        div {
                            label for=(id) { (if frame.visit.en() { sen } else { szh }) }
                            input id=(id) name=(format!("{urgency}.{step}")) type="number" min="1" required inputmode="numeric"
                                value=[value];
                        }
                    }
                }
            }
        }
    }
}

/// The form's service levels as the API takes them.
fn sla_of(form: &Fields) -> Value {
    let minutes = |u: &str, s: &str| {
        let raw = form.get(&format!("{u}.{s}")).unwrap_or_default();
        raw.trim().parse::<u32>().map_or_else(|_| json!(raw), |m| json!(m))
    };
    let level = |u: &str| json!({ "dispatch": minutes(u, "dispatch"), "accept": minutes(u, "accept"), "complete": minutes(u, "complete") });
    json!({ "normal": level("normal"), "urgent": level("urgent"), "emergency": level("emergency") })
}

pub async fn create_category(visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let body = json!({
        "code": form.get("code").unwrap_or_default(),
        "name_zh": form.get("name_zh").unwrap_or_default(),
        "name_en": form.get("name_en").unwrap_or_default(),
        "group": form.get("group").unwrap_or_default(),
        "sla": sla_of(&form),
    });
    respond(&visit, visit.api().post::<serde::de::IgnoredAny>("/api/v1/categories", body).await).await
}

pub async fn change_category(visit: Visit, Path(code): Path<String>, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let body = match form.get("do") {
        Some("activate") => json!({ "active": true }),
        Some("deactivate") => json!({ "active": false }),
        Some("sla") => json!({ "sla": sla_of(&form) }),
        _ => return failed(&visit, None, &Refusal::bad_form()),
    };
    let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    respond(&visit, visit.api().patch::<serde::de::IgnoredAny>(&format!("/api/v1/categories/{code}"), body).await).await
}

async fn respond(visit: &Visit, done: Result<serde::de::IgnoredAny, Refusal>) -> Response {
    match done {
        Ok(_) => see_other("/admin/categories"),
        Err(refusal) => match signed_in(visit).await {
            Ok((me, unread)) => show_categories(visit, &me, unread, Some(&refusal)).await,
            Err(response) => response,
        },
    }
}

pub async fn places(visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show_places(&visit, &me, unread, None).await
}

async fn show_places(visit: &Visit, me: &Me, unread: u64, refusal: Option<&Refusal>) -> Response {
    if !me.staff() {
        return failed(visit, Some(me), &Refusal::forbidden());
    }
    let api = visit.api();
    let communities: Vec<Community> = match api.get::<List<Community>>("/api/v1/communities?limit=100").await {
        Ok(c) => c.items.into_iter().filter(|c| me.is("admin") || Some(c.id) == me.user.community_id).collect(),
        Err(r) => return failed(visit, Some(me), &r),
    };
    let mut compounds = Vec::new();
    for c in &communities {
        match api.get::<List<Compound>>(&format!("/api/v1/communities/{}/compounds?limit=100", c.id)).await {
            Ok(list) => compounds.push(list.items),
            Err(r) => return failed(visit, Some(me), &r),
        }
    }
    let frame = Frame { visit, me: Some(me), unread };
    let title = frame.t("社区、小区与楼栋", "Communities, compounds and buildings");
    frame.titled(
        title,
        refusal,
        html! {
            @for (c, list) in communities.iter().zip(&compounds) {
                section aria-labelledby=(format!("c-{}", c.id)) {
                    h2 id=(format!("c-{}", c.id)) { (c.name) " " code { (c.code) } }
                    p.meta { (c.street) }
                    ul.cards {
                        @for compound in list {
                            li.card {
                                p.title { (compound.name) }
                                p.meta { (compound.buildings.iter().map(|b| b.name.as_str()).collect::<Vec<_>>().join("、")) }
                                form.inline method="post" action=(format!("/admin/compounds/{}/buildings", compound.id)) {
                                    (frame.csrf())
                                    label for=(format!("b-{}", compound.id)) { (frame.t("新楼栋", "New building")) }
                                    " " input id=(format!("b-{}", compound.id)) name="name" required maxlength="100";
                                    " " button type="submit" { (frame.t("添加", "Add")) }
                                }
                            }
                        }
                    }
                    form.inline method="post" action=(format!("/admin/communities/{}/compounds", c.id)) {
                        (frame.csrf())
                        label for=(format!("cp-{}", c.id)) { (frame.t("新小区", "New compound")) }
                        " " input id=(format!("cp-{}", c.id)) name="name" required maxlength="100";
                        " " button type="submit" { (frame.t("添加", "Add")) }
                    }
                }
            }
            @if me.is("admin") {
                h2 { (frame.t("新增社区", "A new community")) }
                form.stack method="post" action="/admin/communities" {
                    (frame.csrf())
                    label for="community-code" { (frame.t("代码（订单号前缀，如 XFL）", "Code (orders' number prefix, e.g. XFL)")) }
                    input #community-code name="code" required maxlength="32";
                    label for="community-name" { (frame.t("名称", "Name")) }
                    input #community-name name="name" required maxlength="100";
                    label for="community-street" { (frame.t("所属街道", "Street office")) }
                    input #community-street name="street" required maxlength="100";
                    button.primary type="submit" { (frame.t("新增", "Add")) }
                }
            }
        },
    )
}

/// Where a new place goes.
enum Place {
    Community,
    Compound(Uuid),
    Building(Uuid),
}

pub async fn add_community(visit: Visit, form: Form) -> Response {
    add_place(visit, Place::Community, form).await
}

pub async fn add_compound(visit: Visit, Path(community): Path<Uuid>, form: Form) -> Response {
    add_place(visit, Place::Compound(community), form).await
}

pub async fn add_building(visit: Visit, Path(compound): Path<Uuid>, form: Form) -> Response {
    add_place(visit, Place::Building(compound), form).await
}

async fn add_place(visit: Visit, place: Place, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let name = form.get("name").unwrap_or_default();
    let (path, body) = match place {
        Place::Community => (
            "/api/v1/communities".to_owned(),
            json!({ "code": form.get("code").unwrap_or_default(), "name": name, "street": form.get("street").unwrap_or_default() }),
        ),
        Place::Compound(id) => (format!("/api/v1/communities/{id}/compounds"), json!({ "name": name })),
        Place::Building(id) => (format!("/api/v1/compounds/{id}/buildings"), json!({ "name": name })),
    };
    match visit.api().post::<serde::de::IgnoredAny>(&path, body).await {
        Ok(_) => see_other("/admin/places"),
        Err(refusal) => match signed_in(&visit).await {
            Ok((me, unread)) => show_places(&visit, &me, unread, Some(&refusal)).await,
            Err(response) => response,
        },
    }
}
