//! Accounts and the things they stand on: residents who register, staff written straight to
//! the database, communities, categories, partners with contracts, invitations, places.

use reqwest::Response;
use sea_orm::{ActiveValue::Set, EntityTrait};
use serde_json::{Value, json};
use shenbian::entity::community;
use shenbian::users::{NewStaff, create_staff};
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};
use uuid::Uuid;

use crate::client::{Actor, Server};
use crate::{Id, PASSWORD, TestApp, json_of, next_credit_code, next_phone};

impl TestApp {
    /// Registers a resident and signs them in.
    pub async fn resident(&self) -> Actor {
        let phone = next_phone();
        let body = json!({"phone": phone, "password": PASSWORD, "display_name": "王秀英"});
        let response = self.post("/auth/register", None, &body).send().await.expect("register");
        assert_eq!(response.status(), 201, "register: {}", response.text().await.unwrap_or_default());
        self.actor_from(response, &phone, PASSWORD).await
    }

    /// Creates an admin account directly (as `shenbian admin create` does) and signs in.
    pub async fn admin(&self) -> Actor {
        self.staff([Role::Admin], None).await
    }

    /// Creates a dispatcher of a community and signs in.
    pub async fn dispatcher(&self, community_id: Uuid) -> Actor {
        self.staff([Role::Dispatcher], Some(community_id)).await
    }

    async fn staff(&self, roles: impl IntoIterator<Item = Role>, community_id: Option<Uuid>) -> Actor {
        let phone = next_phone();
        let staff = NewStaff {
            phone: Phone::parse(&phone).unwrap(),
            password: Password::parse(PASSWORD).unwrap(),
            name: DisplayName::parse("李卫东").unwrap(),
            roles: RoleSet::of(roles),
            community_id,
        };
        create_staff(&self.state, self.db(), None, staff).await.expect("staff account");
        self.login(&phone, PASSWORD).await
    }

    /// Signs in; panics unless it works.
    pub async fn login(&self, phone: &str, password: &str) -> Actor {
        let response = self.login_response(phone, password).await;
        assert_eq!(response.status(), 200, "login");
        self.actor_from(response, phone, password).await
    }

    pub async fn login_response(&self, phone: &str, password: &str) -> Response {
        self.post("/auth/login", None, &json!({"phone": phone, "password": password})).send().await.expect("login")
    }

    /// A community, written straight to the database (its endpoints come with places).
    pub async fn community(&self) -> Uuid {
        let id = Uuid::now_v7();
        let now = chrono::Utc::now();
        community::Entity::insert(community::ActiveModel {
            id: Set(id),
            code: Set(format!("C{}", id.simple())),
            name: Set("幸福里社区".into()),
            street: Set("和平街道".into()),
            settings: Set("{}".into()),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(self.db())
        .await
        .expect("community");
        id
    }

    /// A category created by an admin; returns its code.
    pub async fn category(&self, admin: &Actor, code: &str) -> String {
        let (status, body) = self.call(self.post("/categories", Some(&admin.access_token), &category_body(code))).await;
        assert_eq!(status, 201, "category: {body}");
        code.to_owned()
    }

    /// A partner applied for by a new resident (its admin) and approved by `admin`.
    pub async fn approved_partner(&self, admin: &Actor) -> (Actor, Uuid) {
        let owner = self.resident().await;
        let body = json!({
            "name": "仁和社区诊所", "kind": "medical", "credit_code": next_credit_code(),
            "contact_name": "陈医生", "contact_phone": next_phone(), "description": "全科门诊，上门巡诊"
        });
        let (status, partner) = self.call(self.post("/partners", Some(&owner.access_token), &body)).await;
        assert_eq!(status, 201, "apply: {partner}");
        let id: Uuid = partner["id"].as_str().unwrap().parse().unwrap();
        let (status, _) =
            self.call(self.post_empty(&format!("/partners/{id}/approve"), Some(&admin.access_token))).await;
        assert_eq!(status, 200);
        (owner, id)
    }

    /// A contract recorded by `admin`, signed by the partner's admin and activated.
    pub async fn active_contract(
        &self,
        admin: &Actor,
        owner: &Actor,
        partner: Uuid,
        community: Uuid,
        category: &str,
        terms: Value,
    ) -> Uuid {
        let body = json!({
            "partner_id": partner, "title": "社区服务契约", "community_ids": [community], "category_codes": [category],
            "valid_from": "2026-01-01", "valid_to": "2030-12-31", "terms": terms
        });
        let (status, contract) = self.call(self.post("/contracts", Some(&admin.access_token), &body)).await;
        assert_eq!(status, 201, "contract: {contract}");
        let id: Uuid = contract["id"].as_str().unwrap().parse().unwrap();
        let (status, body) =
            self.call(self.post_empty(&format!("/contracts/{id}/sign"), Some(&owner.access_token))).await;
        assert_eq!(status, 200, "sign: {body}");
        let (status, body) =
            self.call(self.post_empty(&format!("/contracts/{id}/activate"), Some(&admin.access_token))).await;
        assert_eq!(status, 200, "activate: {body}");
        id
    }

    /// A partner applied for by `owner` (who becomes its admin) and left pending.
    pub async fn pending_partner(&self, owner: &Actor, kind: &str) -> Uuid {
        let (status, partner) =
            self.call(self.post("/partners", Some(&owner.access_token), &partner_body("邻里帮服务社", kind))).await;
        assert_eq!(status, 201, "apply: {partner}");
        partner.id()
    }

    /// `who` joins an approved partner with `role`: its admin `by` invites her phone and she
    /// accepts. Returns the invitation's id.
    pub async fn join_partner(&self, by: &Actor, partner: Uuid, who: &Actor, role: &str) -> Uuid {
        let body = json!({"phone": who.phone, "role": role});
        let path = format!("/partners/{partner}/invitations");
        let (status, invitation) = self.call(self.post(&path, Some(&by.access_token), &body)).await;
        assert_eq!(status, 201, "invite: {invitation}");
        let id = invitation.id();
        let accept = format!("/me/invitations/{id}/accept");
        let (status, body) = self.call(self.post_empty(&accept, Some(&who.access_token))).await;
        assert_eq!(status, 200, "accept: {body}");
        id
    }

    /// A compound named `name` added to a community by `actor`.
    pub async fn compound(&self, actor: &Actor, community: Uuid, name: &str) -> Uuid {
        let path = format!("/communities/{community}/compounds");
        let (status, body) = self.call(self.post(&path, Some(&actor.access_token), &json!({"name": name}))).await;
        assert_eq!(status, 201, "compound: {body}");
        body.id()
    }

    /// A building named `name` added to a compound by `actor`.
    pub async fn building(&self, actor: &Actor, compound: Uuid, name: &str) -> Uuid {
        let path = format!("/compounds/{compound}/buildings");
        let (status, body) = self.call(self.post(&path, Some(&actor.access_token), &json!({"name": name}))).await;
        assert_eq!(status, 201, "building: {body}");
        body.id()
    }

    /// Every audit entry matching `query` (e.g. `action=partner.approve`), all pages, as JSON.
    pub async fn audit_entries(&self, admin: &Actor, query: &str) -> Vec<Value> {
        admin.audit_all(query).await.iter().map(json_of).collect()
    }

    /// Redeems a claim code for an account a dispatcher entered, setting its password, and
    /// signs in; panics unless it works.
    pub async fn claim(&self, phone: &str, code: &str, password: &str) -> Actor {
        let body = json!({"phone": phone, "code": code, "password": password});
        let response = self.post("/auth/claim", None, &body).send().await.expect("claim");
        assert_eq!(response.status(), 200, "claim: {}", response.text().await.unwrap_or_default());
        self.actor_from(response, phone, password).await
    }

    /// The account a sign-in answered, as a client of this server.
    async fn actor_from(&self, response: Response, phone: &str, password: &str) -> Actor {
        let body: Value = response.json().await.expect("json");
        Actor {
            user_id: body["user"]["id"].as_str().and_then(|s| s.parse().ok()).expect("user id"),
            phone: phone.to_owned(),
            password: password.to_owned(),
            access_token: body["access_token"].as_str().expect("access token").to_owned(),
            refresh_token: body["refresh_token"].as_str().expect("refresh token").to_owned(),
            server: Server { http: self.client.clone(), base: self.url("/api/v1") },
        }
    }
}

/// The body of a category with sensible service levels.
pub fn category_body(code: &str) -> Value {
    json!({
        "code": code, "name_zh": "法律援助", "name_en": "Legal aid", "group": "测试服务",
        "sla": {
            "normal": {"dispatch": 240, "accept": 120, "complete": 2880},
            "urgent": {"dispatch": 60, "accept": 30, "complete": 480},
            "emergency": {"dispatch": 15, "accept": 10, "complete": 120}
        }
    })
}

/// The body of a partner application with a fresh credit code and contact phone.
pub fn partner_body(name: &str, kind: &str) -> Value {
    json!({
        "name": name, "kind": kind, "credit_code": next_credit_code(),
        "contact_name": "陈医生", "contact_phone": next_phone(), "description": "上门服务"
    })
}
