//! sea-orm entities: the tables as the API reads and writes them. Never request bodies:
//! wire types live with their routes and convert at the edge.

pub mod audit_log;
pub mod auth_failure;
pub mod building;
pub mod category;
pub mod community;
pub mod compound;
pub mod contract;
pub mod contract_category;
pub mod contract_community;
pub mod contract_usage;
pub mod enums;
pub mod event_counter;
pub mod idempotency_key;
pub mod notification;
pub mod offer;
pub mod one_time_code;
pub mod order;
pub mod order_event;
pub mod order_note;
pub mod partner;
pub mod partner_invitation;
pub mod partner_member;
pub mod rating;
pub mod refresh_token;
pub mod server_secret;
pub mod session;
pub mod user;
pub mod volunteer;
pub mod volunteer_building;
pub mod volunteer_hour;
pub mod volunteer_skill;
pub mod webhook;
pub mod webhook_attempt;
