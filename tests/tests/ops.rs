//! Operations: health, readiness, metrics, the OpenAPI document; a server started without
//! its database; SQLite tuned for concurrent writers; several instances on one database.

use chrono::Duration;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};
use serde_json::{Value, json};
use shenbian_tests::scene::{place, world};
use shenbian_tests::shenbian::RunningServer;
use shenbian_tests::shenbian::config::Secret;
use shenbian_tests::shenbian::worker::tick;
use shenbian_tests::{PASSWORD, TestApp, TestClock, next_phone, problem};

#[tokio::test]
async fn health_and_readiness_answer_once_the_database_is_migrated() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ok");
}

#[tokio::test]
async fn without_its_database_the_server_starts_answers_health_and_503_elsewhere() {
    // Nothing listens on port 1: the database is unreachable for the whole test.
    let app = TestApp::spawn_with(|s| {
        s.database_url = Some(Secret::new("postgres://postgres@127.0.0.1:1/none"));
        s.db_acquire_timeout_ms = 200;
    })
    .await;
    assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    for response in [
        app.get("/me", Some("some-token")).send().await.unwrap(),
        app.post("/auth/login", None, &json!({"phone": next_phone(), "password": PASSWORD})).send().await.unwrap(),
    ] {
        assert_eq!(response.status(), 503);
        assert!(response.headers().contains_key("retry-after"));
        assert_eq!(problem(response).await["code"], "unavailable");
    }
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    let resident = app.resident().await;
    app.get("/me", Some(&resident.access_token)).send().await.unwrap();
    app.get(&format!("/users/{}/x", resident.user_id), None).send().await.unwrap();
    let text = app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains(r#"shenbian_http_requests_total{method="GET",route="/api/v1/me",status="200"} 1"#), "{text}");
    assert!(
        text.contains(r#"shenbian_http_requests_total{method="POST",route="/api/v1/auth/register",status="201"} 1"#)
    );
    assert!(text.contains("shenbian_http_request_duration_seconds_bucket"));
    assert!(text.contains("shenbian_db_pool_connections"));
    assert!(!text.contains(&resident.user_id.to_string()), "no raw paths as labels");
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_with_its_problem_answers() {
    let app = TestApp::spawn().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/auth/claim", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/me/password", "post"),
        ("/api/v1/me/close", "post"),
        ("/api/v1/users", "post"),
        ("/api/v1/users", "get"),
        ("/api/v1/users/{id}/deactivate", "post"),
        ("/api/v1/users/{id}/reset-code", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        let responses = paths[path][method]["responses"].as_object().unwrap_or_else(|| panic!("{method} {path}"));
        if path.starts_with("/api/") {
            for status in ["400", "401", "403", "404", "413", "415", "422", "429", "503"] {
                assert!(responses.contains_key(status), "{method} {path} documents {status}");
            }
        }
    }
    let docs = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(docs.status(), 200);
    assert!(docs.text().await.unwrap().contains("swagger"), "the page is served from the binary");
}

#[tokio::test]
async fn the_openapi_document_is_fit_for_client_generators() {
    let app = TestApp::spawn().await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    // The title names the generated package.
    assert!(doc["info"]["title"].as_str().unwrap().is_ascii(), "{}", doc["info"]["title"]);

    let mut operation_ids = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has an operationId"));
            assert!(operation_ids.insert(id.to_owned()), "operationId {id} ({method} {path}) is unique");
            assert!(!id.ends_with("_route"), "operationId {id} is not a handler's internal name");
            for (status, response) in op["responses"].as_object().unwrap() {
                let description = response["description"].as_str().unwrap_or_default();
                assert!(!description.is_empty(), "{method} {path} {status} has a description");
            }
            // An optional body is its object, not `oneOf[T, null]`: the server refuses `null`.
            if let Some(content) = op["requestBody"]["content"].as_object() {
                for media in content.values() {
                    let schema = media["schema"].to_string();
                    assert!(!schema.contains(r#""type":"null""#), "{method} {path} body admits null: {schema}");
                }
            }
        }
    }

    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in schemas.keys() {
        assert!(!name.ends_with("Db") && !name.to_lowercase().contains("route"), "schema {name} is an internal name");
    }
    let pages: Vec<&String> = schemas.keys().filter(|n| n.starts_with("Paginated_")).collect();
    assert!(pages.len() >= 10, "{pages:?}");
    for page in pages {
        let item = page.strip_prefix("Paginated_").unwrap();
        assert!(schemas.contains_key(item), "{page} lists a named schema");
        assert_eq!(
            schemas[page]["properties"]["items"]["items"],
            json!({"$ref": format!("#/components/schemas/{item}")}),
            "{page} refers to {item}"
        );
    }
    assert_eq!(schemas["OrderView"]["properties"]["urgency"]["$ref"], "#/components/schemas/Urgency");
}

#[tokio::test]
async fn sqlite_runs_in_wal_with_foreign_keys() {
    let app = TestApp::spawn().await;
    let db = app.db();
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return;
    }
    let pragma = |sql: &'static str| async move {
        let row = db.query_one_raw(Statement::from_string(DatabaseBackend::Sqlite, sql)).await.unwrap().unwrap();
        row.try_get_by_index::<String>(0).or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string())).unwrap()
    };
    assert_eq!(pragma("PRAGMA journal_mode").await, "wal");
    assert_eq!(pragma("PRAGMA foreign_keys").await, "1");
    assert_eq!(pragma("PRAGMA synchronous").await, "1", "NORMAL by default");
}

#[tokio::test]
async fn sqlite_checkpoints_its_log_beside_the_writers() {
    use std::time::{Duration, Instant};

    use sea_orm::sqlx::sqlite::SqliteConnectOptions;
    use sea_orm::sqlx::{ConnectOptions, Row};
    use shenbian_tests::shenbian::db::{CHECKPOINT_EVERY, begin_write};

    let app = TestApp::spawn().await;
    let db = app.db();
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return;
    }
    // What the database file itself holds, without the log.
    let file = db.get_sqlite_connection_pool().connect_options().get_filename().to_owned();
    let in_file = || async {
        // Opened anew each time: an immutable file's pages are never read twice.
        let mut main_file = SqliteConnectOptions::new().filename(&file).immutable(true).connect().await.unwrap();
        let row = sea_orm::sqlx::query("SELECT value FROM event_counter WHERE id = 1")
            .fetch_one(&mut main_file)
            .await
            .unwrap();
        row.get::<i64, _>(0)
    };
    // The schema into the file first, so that the file has a counter to read.
    db.execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
    let before = in_file().await;

    let bump = "UPDATE event_counter SET value = value + 1 WHERE id = 1";
    for _ in 0..2 * CHECKPOINT_EVERY {
        let tx = begin_write(db).await.unwrap();
        tx.execute_unprepared(bump).await.unwrap();
        tx.commit().await.unwrap();
    }
    // The file has the first CHECKPOINT_EVERY commits once a checkpoint ran beside the
    // writer (the writer alone would leave them in the log until it reached 16,384 pages).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let value = in_file().await;
        if value >= before + i64::from(CHECKPOINT_EVERY) {
            break;
        }
        assert!(Instant::now() < deadline, "no checkpoint: the file holds {value} - {before} of the commits");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn sqlite_log_starts_over_under_a_steady_stream_of_writes() {
    use std::time::{Duration, Instant};

    use shenbian_tests::shenbian::db::{BACKSTOP_AT, CHECKPOINT_EVERY, RESTART_AT, begin_write};

    let app = TestApp::spawn().await;
    let db = app.db();
    if db.get_database_backend() != DatabaseBackend::Sqlite {
        return;
    }
    let file = db.get_sqlite_connection_pool().connect_options().get_filename().to_owned();
    let mut log = file.clone().into_os_string();
    log.push("-wal");
    // The log's header counts the times it started over (its checkpoint sequence number,
    // bytes 12..16, big-endian).
    let starts = || {
        use std::io::Read;
        let mut header = [0u8; 16];
        std::fs::File::open(&log).unwrap().read_exact(&mut header).unwrap();
        u32::from_be_bytes(header[12..16].try_into().unwrap())
    };
    db.execute_unprepared("CREATE TABLE scratch (b BLOB NOT NULL)").await.unwrap();
    // Some seventeen pages a commit: the log passes RESTART_AT pages within a few
    // checkpoints, far below the writer's own checkpoint at 16,384 pages.
    let write = || async {
        let tx = begin_write(db).await.unwrap();
        tx.execute_unprepared("INSERT INTO scratch (b) VALUES (randomblob(65536))").await.unwrap();
        tx.commit().await.unwrap();
    };
    write().await;
    let first = starts();
    let commits = u32::try_from(RESTART_AT).unwrap() / 17 + 2 * CHECKPOINT_EVERY;
    for _ in 0..commits {
        write().await;
    }
    // The checkpoints run beside the writes; the log starts over at a write after one of
    // them finished. (Between writes, a checkpoint finishes without help: what tells the
    // finish in the writers' turn is that the log did not keep every page.)
    let deadline = Instant::now() + Duration::from_secs(10);
    while starts() == first {
        assert!(Instant::now() < deadline, "the log never started over");
        write().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The log started over long before the writer's own checkpoint would have made it: the
    // file never grew to that many pages. (How soon after RESTART_AT it starts over depends
    // on how fast the checkpoint runs beside the writes: the machine's load decides.)
    let pages_in_file = std::fs::metadata(&log).unwrap().len() / (4096 + 24);
    assert!(pages_in_file < BACKSTOP_AT as u64 / 2, "the log grew to {pages_in_file} pages before it started over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_queue_instead_of_failing() {
    let app = TestApp::spawn().await;
    let phones: Vec<String> = (0..40).map(|_| next_phone()).collect();
    let answers = join_all(phones.iter().map(|phone| {
        app.post("/auth/register", None, &json!({"phone": phone, "password": PASSWORD, "display_name": "张三"})).send()
    }))
    .await;
    for answer in answers {
        assert_eq!(answer.unwrap().status(), 201, "no 'database is locked'");
    }
}

#[tokio::test]
async fn a_second_instance_on_the_same_database_shares_keys_and_throttling() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 2).await;
    let resident = app.resident().await;
    let second = RunningServer::start(app.state.settings.clone()).await.unwrap();
    second.state.wait_ready().await;
    let other = |path: &str| format!("http://{}/api/v1{path}", second.addr);

    // A token signed by one instance works on the other: the generated key is in the database.
    let me = app.client.get(other("/me")).bearer_auth(&resident.access_token).send().await.unwrap();
    assert_eq!(me.status(), 200);

    // Failures counted on one instance throttle on the other.
    assert_eq!(app.login_response(&resident.phone, "wrong-password-here").await.status(), 401);
    let body = json!({"phone": resident.phone, "password": "wrong-password-here"});
    assert_eq!(app.client.post(other("/auth/login")).json(&body).send().await.unwrap().status(), 401);
    assert_eq!(app.login_response(&resident.phone, PASSWORD).await.status(), 429);

    // A logout on one instance ends the session on the other at once.
    app.post_empty("/auth/logout", Some(&resident.access_token)).send().await.unwrap();
    let me = app.client.get(other("/me")).bearer_auth(&resident.access_token).send().await.unwrap();
    assert_eq!(me.status(), 401);
    second.shutdown().await;
}

/// The value of one sample (`name{labels}`) in a scrape.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(app: &TestApp) -> String {
    app.client.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn metrics_show_orders_by_community_and_status_the_overdue_ones_and_the_workers_health() {
    let clock = TestClock::new();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    let w = world(&app).await;
    let resident = app.resident().await;
    place(&w, &resident).await;
    place(&w, &resident).await;
    let before = scrape(&app).await;
    assert_eq!(sample(&before, "shenbian_worker_ticks_total"), Some(0.0));
    assert_eq!(sample(&before, "shenbian_worker_last_run_timestamp_seconds"), Some(0.0), "never ran");
    assert_eq!(sample(&before, r#"shenbian_orders_overdue{stage="dispatch"}"#), Some(0.0));

    // Past the urgent orders' 60 minutes to be dispatched.
    clock.advance(Duration::minutes(61));
    tick(&app.state).await.unwrap();

    let text = scrape(&app).await;
    let pending = format!(r#"shenbian_orders{{community="{}",status="pending"}}"#, w.community);
    assert_eq!(sample(&text, &pending), Some(2.0), "{text}");
    assert_eq!(sample(&text, r#"shenbian_orders_overdue{stage="dispatch"}"#), Some(2.0));
    assert_eq!(sample(&text, r#"shenbian_orders_overdue{stage="completion"}"#), Some(0.0));
    assert_eq!(sample(&text, r#"shenbian_orders_sla_breaches{stage="dispatch"}"#), Some(2.0));
    assert_eq!(sample(&text, r#"shenbian_orders_sla_breaches{stage="completion"}"#), Some(0.0));
    assert_eq!(sample(&text, "shenbian_worker_ticks_total"), Some(1.0));
    assert_eq!(sample(&text, "shenbian_worker_escalations_total"), Some(2.0));
    assert_eq!(sample(&text, "shenbian_worker_auto_confirmations_total"), Some(0.0));
    assert_eq!(sample(&text, "shenbian_worker_offers_expired_total"), Some(0.0));
    let last_run = app.state.now().timestamp() as f64;
    assert_eq!(sample(&text, "shenbian_worker_last_run_timestamp_seconds"), Some(last_run));
    // On SQLite the two creations were write transactions of commit groups.
    let members = sample(&text, "shenbian_sqlite_commit_group_members_total");
    if app.db().get_database_backend() == DatabaseBackend::Sqlite {
        assert!(members >= Some(2.0), "{text}");
        assert!(sample(&text, "shenbian_sqlite_commit_groups_total") >= Some(1.0), "{text}");
    } else {
        assert_eq!(members, None, "no commit groups on PostgreSQL");
    }
}

#[tokio::test]
async fn metrics_count_sign_in_failures_and_throttles_and_describe_the_process_and_build() {
    let app = TestApp::spawn_with(|s| s.login_max_failures_per_account_and_address = 2).await;
    let resident = app.resident().await;
    for _ in 0..2 {
        assert_eq!(app.login_response(&resident.phone, "a-wrong-password").await.status(), 401);
    }
    assert_eq!(app.login_response(&resident.phone, "a-wrong-password").await.status(), 429);

    let text = scrape(&app).await;
    assert_eq!(sample(&text, r#"shenbian_sign_in_failures_total{secret="password"}"#), Some(2.0), "{text}");
    assert_eq!(sample(&text, r#"shenbian_sign_in_throttled_total{limit="account_and_address"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"shenbian_sign_in_throttled_total{limit="address"}"#), Some(0.0));
    let build = format!(r#"shenbian_build_info{{version="{}"}}"#, shenbian_tests::shenbian::VERSION);
    assert_eq!(sample(&text, &build), Some(1.0));
    if cfg!(target_os = "linux") {
        assert!(sample(&text, "process_cpu_seconds_total").is_some_and(|s| s > 0.0));
        assert!(sample(&text, "process_resident_memory_bytes").is_some_and(|b| b > 1_000_000.0));
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let name = line.split(['{', ' ']).next().unwrap();
        assert!(
            text.contains(&format!("# TYPE {name} "))
                || name.ends_with("_bucket")
                || name.ends_with("_sum")
                || name.ends_with("_count"),
            "{name} has a type"
        );
    }
}
