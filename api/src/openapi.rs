//! The OpenAPI 3.1 document, generated from the handlers. Every operation under `/api/v1`
//! also lists the problem answers that the extractors and middleware can give, so the
//! document names every status a route can answer.

use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::{PROBLEM_JSON, Problem};

#[derive(OpenApi)]
#[openapi(
    info(title = "Shenbian (身边) API", description = "Residents order services, the community dispatches them, partners and volunteers do the jobs."),
    modifiers(&Security),
    components(schemas(Problem)),
    tags(
        (name = "auth", description = "Sign-in and sessions"),
        (name = "me", description = "The caller's own account"),
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

/// Adds the shared problem answers to every `/api/v1` operation.
pub fn add_problem_responses(doc: &mut Document) {
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
