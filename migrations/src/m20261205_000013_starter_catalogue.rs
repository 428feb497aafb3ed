//! A fresh installation's service catalogue: the common community services, with zh-CN and
//! English names and service levels that admins edit (`PATCH /categories/{code}`). Only an
//! empty catalogue is filled; an installation with categories keeps its own.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Minutes to dispatch, to accept and to complete, per urgency (normal, urgent, emergency).
type Levels = [(u32, u32, u32); 3];

/// A repair or a household job: done within two days, an emergency within two hours.
const HOUSEHOLD: Levels = [(240, 120, 2880), (60, 30, 480), (15, 10, 120)];
/// Care of the elderly: meals and visits come the same day.
const CARE: Levels = [(120, 60, 480), (45, 20, 240), (15, 10, 90)];
/// Advice by appointment: a week for the normal case.
const ADVICE: Levels = [(480, 240, 10080), (120, 60, 1440), (30, 15, 240)];
/// A class or a regular programme: arranged within the week.
const PROGRAMME: Levels = [(1440, 720, 10080), (240, 120, 2880), (60, 30, 480)];

/// Code, zh-CN name, English name, group, service levels.
const STARTER: [(&str, &str, &str, &str, Levels); 12] = [
    ("appliance_repair", "家电维修", "Appliance repair", "生活服务", HOUSEHOLD),
    ("plumbing_electric", "水电维修", "Plumbing and electrics", "生活服务", HOUSEHOLD),
    ("housekeeping", "家政保洁", "Housekeeping", "生活服务", HOUSEHOLD),
    ("elder_meals", "助老助餐", "Meals for the elderly", "为老服务", CARE),
    ("elder_bathing", "助浴", "Bathing assistance", "为老服务", CARE),
    ("elder_companion", "助老陪护", "Companionship for the elderly", "为老服务", CARE),
    ("home_medical", "上门医疗", "Home medical visit", "健康服务", CARE),
    ("counselling", "心理疏导", "Counselling", "健康服务", ADVICE),
    ("legal_advice", "法律咨询", "Legal advice", "专业服务", ADVICE),
    ("job_guidance", "就业指导", "Job guidance", "专业服务", ADVICE),
    ("after_school", "四点半课堂", "After-school class", "教育服务", PROGRAMME),
    ("disability_support", "助残服务", "Disability support", "为老服务", CARE),
];

fn sla(levels: &Levels) -> String {
    let [normal, urgent, emergency] = levels.map(|(dispatch, accept, complete)| {
        format!(r#"{{"dispatch":{dispatch},"accept":{accept},"complete":{complete}}}"#)
    });
    format!(r#"{{"normal":{normal},"urgent":{urgent},"emergency":{emergency}}}"#)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        let count = Query::select().expr(Expr::col(Asterisk).count()).from("categories").to_owned();
        let existing: i64 =
            db.query_one_raw(backend.build(&count)).await?.map(|row| row.try_get_by_index(0)).transpose()?.unwrap_or(0);
        if existing > 0 {
            return Ok(());
        }
        let now = chrono::Utc::now();
        let mut insert = Query::insert();
        insert.into_table("categories").columns([
            "code",
            "name_zh",
            "name_en",
            "group_name",
            "sla",
            "active",
            "created_at",
            "updated_at",
        ]);
        for (code, zh, en, group, levels) in &STARTER {
            insert.values_panic([
                (*code).into(),
                (*zh).into(),
                (*en).into(),
                (*group).into(),
                sla(levels).into(),
                true.into(),
                now.into(),
                now.into(),
            ]);
        }
        let statement: Statement = backend.build(&insert);
        db.execute_raw(statement).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The catalogue is the admins' once installed: nothing is taken back.
        Ok(())
    }
}
