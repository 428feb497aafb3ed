//! The caller's account: her data to download, and closing the account (the API erases her
//! personal data and keeps her orders, anonymised, for the figures).

use axum::http::StatusCode;
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE, SET_COOKIE};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::json;

use super::client::Refusal;
use super::layout::{Frame, Me};
use super::session::{SESSION_COOKIE, Visit};
use super::{Form, failed, forbidden, signed_in};

pub async fn page(visit: Visit) -> Response {
    let (me, unread) = match signed_in(&visit).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    show(&visit, &me, unread, None)
}

fn show(visit: &Visit, me: &Me, unread: u64, refusal: Option<&Refusal>) -> Response {
    let frame = Frame { visit, me: Some(me), unread };
    let title = frame.t("账户", "Account");
    frame.titled(
        title,
        refusal,
        html! {
            p { (me.user.display_name) }
            h2 { (frame.t("我的数据", "My data")) }
            p { a.button href="/account/export" download="shenbian-export.json" { (frame.t("下载我的全部数据（JSON）", "Download all my data (JSON)")) } }
            h2 { (frame.t("注销账户", "Close my account")) }
            p { (frame.t("注销后，您的手机号、姓名和详细地址将被删除；订单以匿名方式保留用于统计。此操作不可撤销。",
                "Closing erases your phone, name and exact addresses; your orders stay, anonymised, for the figures. This cannot be undone.")) }
            form.stack method="post" action="/account/close" {
                (frame.csrf())
                label for="close-password" { (frame.t("请输入密码确认", "Your password, to confirm")) }
                input #close-password name="password" type="password" autocomplete="current-password" required;
                button type="submit" { (frame.t("注销账户", "Close my account")) }
            }
        },
    )
}

/// The API's export, as a file to save.
pub async fn export(visit: Visit) -> Response {
    match visit.api().get::<serde_json::Value>("/api/v1/me/export").await {
        Ok(data) => (
            [
                (CONTENT_TYPE, "application/json; charset=utf-8"),
                (CONTENT_DISPOSITION, "attachment; filename=\"shenbian-export.json\""),
            ],
            serde_json::to_string_pretty(&data).unwrap_or_default(),
        )
            .into_response(),
        Err(r) if r.status == StatusCode::UNAUTHORIZED => super::see_other("/login"),
        Err(r) => failed(&visit, None, &r),
    }
}

pub async fn close(visit: Visit, axum::Form(form): Form) -> Response {
    if !visit.may_post(&form) {
        return forbidden(&visit);
    }
    let body = json!({ "password": form.get("password").unwrap_or_default() });
    match visit.api().post::<serde::de::IgnoredAny>("/api/v1/me/close", body).await {
        Ok(_) => {
            let frame = Frame { visit: &visit, me: None, unread: 0 };
            let title = frame.t("账户已注销", "Account closed");
            let mut response = frame.page(
                title,
                html! { h1 { (title) } p { (frame.t("感谢您使用身边。", "Thank you for using Shenbian.")) } },
            );
            response.headers_mut().append(SET_COOKIE, visit.cookie(SESSION_COOKIE, "", 0, true));
            response
        }
        Err(r) => match signed_in(&visit).await {
            Ok((me, unread)) => show(&visit, &me, unread, Some(&r)),
            Err(response) => response,
        },
    }
}
