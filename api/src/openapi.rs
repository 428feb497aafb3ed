//! The OpenAPI 3.1 document, generated from the handlers. Every operation under `/api/v1`
//! also lists the problem answers that the extractors and middleware can give, so the
//! document names every status a route can answer. [`finish`] then shapes the document so
//! that client generators (openapi-python-client in CI) take it without an error or a
//! warning: every response has a description, an optional body is its object (never
//! `null`), and a page's items refer to their schema by name.

use utoipa::openapi::path::Operation;
use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    // The title names the generated client packages (`shenbian-api-client`), so it is ASCII.
    info(title = "Shenbian API", description = "Shenbian (身边): residents order services, the community dispatches them, partners and volunteers do the jobs."),
    modifiers(&Security),
    components(schemas(Problem)),
    tags(
        (name = "auth", description = "Sign-in and sessions"),
        (name = "me", description = "The caller's own account and inbox (notifications)"),
        (name = "users", description = "Staff accounts (admins)"),
        (name = "places", description = "Communities, compounds, buildings"),
        (name = "catalogue", description = "Service categories and their service levels"),
        (name = "partners", description = "Partner organisations (红色合伙人) and their members"),
        (name = "volunteers", description = "Volunteers and their approval"),
        (name = "contracts", description = "Contracts (契约) and eligibility"),
        (name = "orders", description = "Orders, offers, jobs, timelines and the event feed"),
        (name = "ratings", description = "Ratings and providers' scores (监督评价)"),
        (name = "figures", description = "Statistics for staff and the public (看得见)"),
        (name = "exports", description = "CSV exports for dispatchers"),
        (name = "webhooks", description = "Signed deliveries of the event log to partners' and the district's systems (Standard Webhooks)"),
        (name = "audit", description = "The audit log (admins)"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Problem answers any `/api/v1` route can give, from its extractors and the middleware.
const API_PROBLEMS: &[(&str, &str)] = &[
    ("400", "Malformed request (bad JSON)"),
    ("401", "Missing, invalid or expired access token, or wrong credentials"),
    ("403", "The caller's role may never do this"),
    ("404", "No such resource, or not visible to the caller"),
    ("405", "Method not allowed"),
    ("409", "Conflict with the current state"),
    ("413", "Body larger than 1 MiB"),
    ("415", "Body is not application/json"),
    ("422", "Well-formed but invalid input; see `errors`"),
    ("429", "Too many failed attempts; see Retry-After"),
    ("500", "Unexpected server fault (opaque)"),
    ("503", "Database unavailable or request timed out; see Retry-After"),
];

/// Everything the derived document needs before it is served.
pub fn finish(doc: &mut Document) {
    add_problem_responses(doc);
    for op in operations(doc) {
        describe_responses(op);
        unwrap_optional_body(op);
    }
    refer_page_items(doc);
}

fn operations(doc: &mut Document) -> impl Iterator<Item = &mut Operation> {
    doc.paths.paths.values_mut().flat_map(|item| {
        [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
    })
}

/// Adds the shared problem answers to every `/api/v1` operation.
fn add_problem_responses(doc: &mut Document) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let problems: &[(&str, &str)] = if path.starts_with("/api/") { API_PROBLEMS } else { &API_PROBLEMS[10..] };
        let ops = [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for op in ops.into_iter().flatten() {
            add_to(op, problems);
        }
    }
}

fn add_to(op: &mut Operation, problems: &[(&str, &str)]) {
    for (status, description) in problems {
        op.responses.responses.entry((*status).to_owned()).or_insert_with(|| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(*description)
                    .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
                    .build(),
            )
        });
    }
}

/// OpenAPI requires a description on every response; a route's own success answer gets the
/// standard phrase of its status when its attribute gives none.
fn describe_responses(op: &mut Operation) {
    for (status, response) in op.responses.responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            response.description = match status.as_str() {
                "200" => "OK",
                "201" => "Created",
                "202" => "Accepted",
                "204" => "No content",
                _ => "Answer",
            }
            .to_owned();
        }
    }
}

/// An optional body (`request_body(content = Option<T>)`) is derived as `oneOf[T, null]`,
/// but the server takes either no body or a `T`, never a literal `null`: the body is
/// documented as `T` and not required.
fn unwrap_optional_body(op: &mut Operation) {
    let Some(RefOr::T(body)) = op.request_body.as_mut() else { return };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else { continue };
        let Some(RefOr::T(Schema::OneOf(one_of))) = content.schema.as_ref() else { continue };
        let mut not_null = one_of.items.iter().filter(|s| !is_null(s));
        if let (Some(only), None) = (not_null.next(), not_null.next())
            && one_of.items.len() == 2
        {
            content.schema = Some(only.clone());
        }
    }
}

fn is_null(schema: &RefOr<Schema>) -> bool {
    matches!(schema, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null))
}

/// utoipa inlines a generic's argument, so `Paginated_OrderView.items` would be an anonymous
/// copy of `OrderView`; refer to the named schema instead, so clients get one `OrderView`.
fn refer_page_items(doc: &mut Document) {
    let Some(components) = doc.components.as_mut() else { return };
    let names: Vec<String> = components.schemas.keys().cloned().collect();
    for (name, schema) in components.schemas.iter_mut() {
        let Some(item) = name.strip_prefix("Paginated_") else { continue };
        if !names.iter().any(|n| n == item) {
            continue;
        }
        let RefOr::T(Schema::Object(page)) = schema else { continue };
        if let Some(RefOr::T(Schema::Array(items))) = page.properties.get_mut("items") {
            items.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(item))));
        }
    }
}
