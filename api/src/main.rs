//! The `shenbian` binary.

use std::io::IsTerminal;
use std::process::ExitCode;

use shenbian::cli::{AdminCommand, Cli, Command, Flags};
use shenbian::users::{NewStaff, create_staff};
use shenbian::{RunningServer, Settings, db, telemetry};
use shenbian_domain::{DisplayName, Password, Phone, Role, RoleSet};

fn main() -> ExitCode {
    let (global, command) = Cli::parse_args();
    let (defaults, flags) = match &command {
        Command::Serve(serve) => (Settings::default(), Flags::new(&global, Some(serve))),
        // A one-off command logs warnings only, unless the settings ask for more: its output
        // is what it prints.
        _ => (Settings { log: "warn".to_owned(), ..Settings::default() }, Flags::new(&global, None)),
    };
    let settings = match Settings::load_over(defaults, global.config.as_deref(), flags) {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("shenbian: {err}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&settings);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("shenbian: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve(_) => serve(settings).await,
            Command::Migrate => migrate(settings).await,
            Command::Demo => demo(settings).await,
            Command::Backup { to } => backup(settings, &to).await,
            Command::Admin { command: AdminCommand::Create { phone, name } } => {
                create_admin(settings, &phone, &name).await
            }
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("shenbian: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let server = RunningServer::start(settings).await.map_err(|e| format!("cannot listen: {e}"))?;
    // A line for people and scripts: where to find the service.
    println!("shenbian listening on http://{}", server.addr);
    tracing::info!(addr = %server.addr, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight requests");
    server.shutdown().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = interrupt => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = interrupt.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

async fn migrate(settings: Settings) -> Result<(), String> {
    db::connect_and_migrate(&settings).await.map_err(|e| format!("migration failed: {e}"))?;
    println!("migrations applied");
    Ok(())
}

async fn demo(settings: Settings) -> Result<(), String> {
    let state = ready_state(settings).await?;
    let accounts = shenbian::demo::run(state).await?;
    println!("demo district ready; sign in with:");
    for line in accounts.lines {
        println!("  {line}");
    }
    Ok(())
}

async fn backup(settings: Settings, to: &std::path::Path) -> Result<(), String> {
    let conn = db::connect_and_migrate(&settings).await.map_err(|e| format!("database: {e}"))?;
    db::backup_sqlite(&conn, to).await?;
    println!("backup written to {}", to.display());
    Ok(())
}

/// Connects, migrates and loads the keys, as the server would, for a one-off command.
async fn ready_state(settings: Settings) -> Result<shenbian::state::AppState, String> {
    let conn = db::connect_and_migrate(&settings).await.map_err(|e| format!("database: {e}"))?;
    let keys = shenbian::crypto::keys::Keys::load(&conn, &settings).await.map_err(|e| format!("database: {e}"))?;
    let state = shenbian::state::AppState::new(settings, std::sync::Arc::new(shenbian::state::SystemClock));
    state.set_ready(conn, keys);
    Ok(state)
}

async fn create_admin(settings: Settings, phone: &str, name: &str) -> Result<(), String> {
    let phone = Phone::parse(phone).map_err(|e| format!("--phone: {e}"))?;
    let name = DisplayName::parse(name).map_err(|e| format!("--name: {e}"))?;
    let password = match std::env::var("SHENBIAN_ADMIN_PASSWORD") {
        Ok(password) => password,
        Err(_) if !std::io::stdin().is_terminal() => {
            return Err("no terminal to ask for the password: set SHENBIAN_ADMIN_PASSWORD".to_owned());
        }
        Err(_) => rpassword::prompt_password("Password for the new admin: ")
            .map_err(|e| format!("cannot read the password: {e}; set SHENBIAN_ADMIN_PASSWORD instead"))?,
    };
    let password = Password::parse(&password).map_err(|e| format!("password {e}"))?;
    let state = ready_state(settings).await?;
    let staff = NewStaff { phone, password, name, roles: RoleSet::of([Role::Admin]), community_id: None };
    let db = state.db().map_err(|e| e.to_string())?;
    let created = create_staff(&state, db, None, staff).await.map_err(|e| match e {
        shenbian::error::ApiError::Conflict { .. } => "an account with this phone exists already".to_owned(),
        other => other.to_string(),
    })?;
    println!("admin created: {}", created.id);
    Ok(())
}
