//! `shenbian-bench`: the load generator. It starts the real server in this process on a
//! fresh database, makes its accounts before any timed window, and then measures, in one run:
//!
//! 1. whole order life cycles with a read mix through the API (closed loop, or open loop at
//!    `--rate` requests per second), per endpoint, and the resident set size under that load;
//! 2. the life-cycle steps alone through the API, closed loop;
//! 3. a no-op route through the same server stack (the HTTP ceiling);
//! 4. the same steps as the least SQL the schema needs, straight through sea-orm (the
//!    database ceiling).
//!
//! The last line is `step_vs_raw=<ratio>`: (2) over (4). `--scale` instead times the reads
//! at 1,000 orders and after a bulk seed to `--orders` (default 1,000,000). `--endpoints`
//! instead loads one endpoint at a time — a route outside the middleware (`bare`), `/healthz`,
//! the no-op route, read one order, list a page, create an order — then times the live
//! stream's delivery (each user creates an order and waits for its event on its own
//! `/events/stream`: `stream_delivery_p50_ms=`, `stream_delivery_p99_ms=`), and ends with
//! each endpoint's rate over the bare route's (`healthz_vs_bare=`, `read_vs_bare=`,
//! `list_vs_bare=`, `create_vs_bare=`); with `--client wrk`, wrk loads them from a process
//! of its own and each endpoint's server CPU time per request is printed too
//! (`read_server_cpu_us=`, …). `--notify` holds `--streams` live streams open
//! during the life-cycle load (event to client, RSS), then times webhook deliveries.

mod client;
mod load;
mod notify;
mod raw;
mod rss;
mod scale;
mod seed;
mod stats;
mod stream;
mod target;
mod world;
mod wrk;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::client::Api;
use crate::load::{Mix, Single};
use crate::rss::mib;
use crate::stats::Recorder;
use crate::target::{Backend, Target};

/// Who loads `--endpoints`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LoadClient {
    Bench,
    Wrk,
}

#[derive(Debug, Parser)]
#[command(name = "shenbian-bench", about = "Life-cycle throughput and latency against the least-SQL ceiling")]
struct Args {
    /// The database to run on (a fresh one either way).
    #[arg(long, value_enum, default_value = "sqlite")]
    database: Backend,
    /// Virtual users (closed loop), or the most requests in flight (open loop).
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Length of each timed window.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Offered rate in requests per second for the mixed load (open loop); the ceilings stay
    /// closed loop.
    #[arg(long)]
    rate: Option<u64>,
    /// Unrecorded seconds before each timed window (and each slice of one).
    #[arg(long, default_value_t = 1)]
    warmup: u64,
    /// Slices in which the API's steps [2] and the least SQL [4] alternate.
    #[arg(long, default_value_t = 5)]
    rounds: u32,
    /// The server's database pool size (default: the server's own default; on SQLite at
    /// most as many as the machine's cores, see `shenbian::db::pool_size`).
    #[arg(long)]
    pool: Option<u32>,
    /// A PostgreSQL server where the bench may create (and then drop) a database.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Time the lists and jobs at 1,000 orders and at `--orders` instead of the load.
    #[arg(long)]
    scale: bool,
    /// Load one endpoint at a time instead (closed loop, `--clients` users, `--seconds`
    /// each): a route outside the middleware, `/healthz`, the no-op route, read one order,
    /// list a page, create an order; the last lines compare each with the bare route.
    #[arg(long, conflicts_with = "scale", conflicts_with = "rate")]
    endpoints: bool,
    /// With `--endpoints`, only these (comma-separated names of its summary: bare, healthz,
    /// noop, read, list, create, page); the bare route is always loaded, for the ratios.
    #[arg(long, value_delimiter = ',', requires = "endpoints")]
    only: Vec<String>,
    /// With `--endpoints`, the client that loads them: the bench's own, in this process, or
    /// wrk in a process of its own (installed apart: `apt-get install wrk`), which also gives
    /// the server's CPU time per request.
    #[arg(long, value_enum, default_value = "bench", requires = "endpoints")]
    client: LoadClient,
    /// Hold `--streams` live streams open during the life-cycle load and time event to
    /// client, then time webhook deliveries (one endpoint, then eight) to a local receiver.
    #[arg(long, conflicts_with = "scale", conflicts_with = "rate", conflicts_with = "endpoints")]
    notify: bool,
    /// Live streams `--notify` holds open.
    #[arg(long, default_value_t = 1_000)]
    streams: usize,
    /// How many orders `--scale` seeds in all.
    #[arg(long, default_value_t = 1_000_000)]
    orders: u64,
    /// Keep the (large side's) PostgreSQL database after the run, to inspect its plans.
    #[arg(long)]
    keep_database: bool,
    /// On a PostgreSQL server whose autovacuum is off, do not `ANALYZE` during the load
    /// (see [`keep_analyzed`]).
    #[arg(long)]
    no_analyze: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.clients == 0 || args.seconds == 0 || args.rounds == 0 || args.rate == Some(0) || args.orders < scale::SMALL
    {
        eprintln!(
            "shenbian-bench: --clients, --seconds, --rounds and --rate must be at least 1, --orders at least 1000"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("shenbian-bench: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("shenbian-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    println!("shenbian-bench {}", machine());
    let target = Target::start(args.database, &args.pg_url, args.pool).await?;
    println!(
        "server: http://{} in this process, {}, pool of {} connections",
        target.base.trim_start_matches("http://"),
        target.database_name(),
        shenbian::db::pool_size(&target.settings)
    );
    let result = if args.scale {
        run_scale(&args, &target).await
    } else if args.endpoints {
        run_endpoints(&args, &target).await
    } else if args.notify {
        let api = Api::new(&target.base, args.clients);
        match world::build(&api, &target.state, args.clients).await {
            Ok(world) => {
                let window = Duration::from_secs(args.seconds);
                notify::run(&api, &target, Arc::new(world), args.streams, args.clients, window).await
            }
            Err(e) => Err(e),
        }
    } else {
        run_load(&args, &target).await
    };
    target.stop(args.keep_database).await;
    // The summary comes after the server has stopped, so that its last line is the ratio.
    for line in result? {
        println!("{line}");
    }
    Ok(())
}

/// nproc, the CPU model, and the commit, when they can be found.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(str::trim)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    format!("on {cores} cores ({cpu}), commit {commit}")
}

async fn run_load(args: &Args, target: &Target) -> Result<Vec<String>, String> {
    let (warmup, window) = (Duration::from_secs(args.warmup), Duration::from_secs(args.seconds));
    let api = Api::new(&target.base, args.clients);
    let fresh = rss::kib().unwrap_or(0);
    let started = Instant::now();
    let world = Arc::new(world::build(&api, &target.state, args.clients).await?);
    println!(
        "setup (not timed): admin, dispatcher, community, category, {} residents and {} partners with contracts, in {:.1} s",
        world.crews.len(),
        world.crews.len(),
        started.elapsed().as_secs_f64()
    );
    let analyzer = if args.no_analyze { None } else { keep_analyzed(target).await? };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss::kib().unwrap_or(0);

    let sampler = rss::Sampler::start();
    let (mixed, span) = match args.rate {
        Some(rate) => {
            let run = load::open(&api, &world, Mix::StepsAndReads, args.clients, rate, warmup, window).await;
            println!(
                "\n[1] life cycles + reads, open loop at {rate} requests/s offered, up to {} in flight, \
                 requests due within {} s, answered within {:.1} s; {} sent more than 2 ms late (no user was \
                 free: latency counts from when they were due)",
                args.clients,
                args.seconds,
                run.span.as_secs_f64(),
                run.late
            );
            (run.recorder, run.span)
        }
        None => {
            println!("\n[1] life cycles + reads, closed loop, {} users, {} s", args.clients, args.seconds);
            (load::closed(&api, &world, Mix::StepsAndReads, args.clients, warmup, window).await, window)
        }
    };
    let loaded = sampler.stop().await;
    let mixed = mixed.ordered(&load::ALL);
    print!("{}", mixed.table(span));
    let mixed_total = mixed.total_ok() as f64 / span.as_secs_f64();
    println!("  all requests: {mixed_total:.1}/s ok");

    // [2] and [4] alternate, in `--rounds` slices of the window each, so that whatever else
    // the machine does meanwhile weighs on both alike.
    let rounds = args.rounds.max(1);
    let slice = window / rounds;
    let db = shenbian::db::connect(&target.settings).await.map_err(|e| format!("raw pool: {e}"))?;
    let month = shenbian::eligibility::month_key(target.state.today());
    let (mut steps, mut raw) = (Recorder::default(), Recorder::default());
    for _ in 0..rounds {
        steps.merge(load::closed(&api, &world, Mix::Steps, args.clients, warmup, slice).await);
        raw.merge(raw::closed(&db, &world, &month, args.clients, warmup, slice).await);
    }
    let _ = db.close().await;
    if let Some(analyzer) = analyzer {
        analyzer.abort();
    }
    let (steps, raw) = (steps.ordered(&load::STEPS), raw.ordered(&raw::STEPS));
    let alternating = format!("{rounds} slices of {:.1} s alternating with [4]", slice.as_secs_f64());
    println!("\n[2] life-cycle steps only, closed loop, {} users, {} s ({alternating})", args.clients, args.seconds);
    print!("{}", steps.table(window));
    let api_steps = steps.ok_of(&load::STEPS) as f64 / window.as_secs_f64();
    println!("  steps: {api_steps:.1}/s ok ({:.1} life cycles/s)", api_steps / load::STEPS.len() as f64);

    let noop = load::closed(&api, &world, Mix::Only(Single::Noop), args.clients, warmup, window).await.finish();
    println!(
        "\n[3] no-op route through the same server stack, closed loop, {} users, {} s",
        args.clients, args.seconds
    );
    print!("{}", noop.table(window));
    let noop_rate = noop.total_ok() as f64 / window.as_secs_f64();

    println!(
        "\n[4] the same steps as least SQL through sea-orm (no HTTP, no reads), closed loop, {} writers, {} s \
         (alternating with [2])",
        args.clients, args.seconds
    );
    print!("{}", raw.table(window));
    let raw_steps = raw.ok_of(&raw::STEPS) as f64 / window.as_secs_f64();
    println!("  steps: {raw_steps:.1}/s ok ({:.1} life cycles/s)", raw_steps / raw::STEPS.len() as f64);

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    Ok(vec![
        String::new(),
        format!("rss_fresh_mib={:.1} (server started, before any sign-in)", mib(fresh)),
        format!("rss_idle_mib={:.1} (after the setup's sign-ins, before the load)", mib(idle)),
        format!("rss_under_load_mib=peak {:.1}, mean {:.1}", mib(loaded.peak), mib(loaded.mean)),
        format!("api_steps_per_s={api_steps:.1}"),
        format!("raw_steps_per_s={raw_steps:.1}"),
        format!("noop_requests_per_s={noop_rate:.1}"),
        commit_groups(target),
        format!("step_vs_noop={:.3}", ratio(api_steps, noop_rate)),
        format!("step_vs_raw={:.3}", ratio(api_steps, raw_steps)),
    ])
}

/// One endpoint at a time, closed loop: req/s and latency of each, then each over the bare
/// route's rate (the ceiling of axum and the client on this machine) as the last lines.
async fn run_endpoints(args: &Args, target: &Target) -> Result<Vec<String>, String> {
    let (warmup, window) = (Duration::from_secs(args.warmup), Duration::from_secs(args.seconds));
    if let Some(unknown) = args.only.iter().find(|only| !Single::ALL.iter().any(|(_, name)| name == only)) {
        return Err(format!("--only: no endpoint is named {unknown}"));
    }
    let api = Api::new(&target.base, args.clients);
    let world = Arc::new(world::build(&api, &target.state, args.clients).await?);
    let analyzer = if args.no_analyze { None } else { keep_analyzed(target).await? };
    let client = match args.client {
        LoadClient::Bench => "the bench's client in this process",
        LoadClient::Wrk => "wrk in a process of its own",
    };
    println!("\none endpoint at a time, closed loop, {} users, {} s each, {client}", args.clients, args.seconds);
    let mut all = Recorder::default();
    let mut rates = Vec::new();
    let chosen = Single::ALL
        .into_iter()
        .filter(|(_, name)| *name == "bare" || args.only.is_empty() || args.only.iter().any(|only| only == name));
    let mut server_cpu = Vec::new();
    for (single, name) in chosen {
        if args.client == LoadClient::Wrk {
            let requests = load::requests(&api, &world, single, args.clients).await;
            let run = wrk::run(&target.base, &requests, args.clients, warmup, window).await?;
            let rate = run.ok() as f64 / window.as_secs_f64();
            println!(
                "  {:<24} {rate:>9.1}/s ok, {} failed, p50 {:.2} ms, p99 {:.2} ms, CPU per request: server {:.1} µs, wrk {:.1} µs",
                single.endpoint(),
                run.failed,
                run.p50_ms,
                run.p99_ms,
                run.server_us_per_request(),
                run.client_us_per_request()
            );
            rates.push((name, rate));
            server_cpu.push((name, run.server_us_per_request()));
            continue;
        }
        let recorder = load::closed(&api, &world, Mix::Only(single), args.clients, warmup, window).await;
        rates.push((name, recorder.ok_of(&[single.endpoint()]) as f64 / window.as_secs_f64()));
        all.merge(recorder);
    }
    let delivered = stream::delivery(&target.base, &world, window).await?;
    if let Some(analyzer) = analyzer {
        analyzer.abort();
    }
    if args.client == LoadClient::Bench {
        print!("{}", all.ordered(&Single::ALL.map(|(single, _)| single.endpoint())).table(window));
    }
    let nearest = |q: f64| {
        delivered.get(((q * delivered.len() as f64).ceil() as usize).saturating_sub(1)).copied().unwrap_or(0.0)
    };
    println!(
        "  live stream: {} orders created and heard back, delivery p50 {:.1} ms, p99 {:.1} ms",
        delivered.len(),
        nearest(0.5),
        nearest(0.99)
    );
    let bare = rates.iter().find(|(name, _)| *name == "bare").map_or(0.0, |(_, rate)| *rate);
    let mut lines = vec![String::new()];
    lines.extend(rates.iter().map(|(name, rate)| format!("{name}_per_s={rate:.1}")));
    lines.extend(server_cpu.iter().map(|(name, us)| format!("{name}_server_cpu_us={us:.1}")));
    lines.push(format!("stream_delivery_p50_ms={:.1}", nearest(0.5)));
    lines.push(format!("stream_delivery_p99_ms={:.1}", nearest(0.99)));
    lines.push(commit_groups(target));
    for (name, rate) in rates.iter().filter(|(name, _)| *name != "bare" && *name != "noop") {
        lines.push(format!("{name}_vs_bare={:.3}", if bare > 0.0 { rate / bare } else { 0.0 }));
    }
    Ok(lines)
}

/// The SQLite writer's commit groups over the whole run (the API's and the least SQL's
/// writers share the file's writer; the least SQL's transactions are not groups' members).
fn commit_groups(target: &Target) -> String {
    match target.state.db().ok().and_then(shenbian::db::commit_groups_done) {
        Some((groups, members)) => format!(
            "sqlite_commit_groups={groups} (holding {members} write transactions, {:.2} each)",
            members as f64 / groups.max(1) as f64
        ),
        None => "sqlite_commit_groups=none (PostgreSQL)".to_owned(),
    }
}

/// How often [`keep_analyzed`] analyzes.
const ANALYZE_EVERY: Duration = Duration::from_secs(5);

/// The statistics autovacuum keeps, on a PostgreSQL server where it is off (this machine's
/// CI configuration turns it off): `ANALYZE` of the whole database every [`ANALYZE_EVERY`]
/// until aborted, started before the load. Without it, the statements the server's pooled
/// connections prepared while the tables were nearly empty keep the plans chosen then for
/// good (an order's `UPDATE` by id and status went through the index on status and
/// completion time), and the steps through the API slow down as the orders pile up, while
/// the least SQL, which reads nothing, does not. It never vacuums. `None` on SQLite, and
/// when autovacuum is on.
async fn keep_analyzed(target: &Target) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    use sea_orm::ConnectionTrait;
    if target.settings.database_url.is_none() {
        return Ok(None);
    }
    let db = shenbian::db::connect(&target.settings).await.map_err(|e| format!("analyzer: {e}"))?;
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), "SHOW autovacuum"))
        .await
        .map_err(|e| format!("analyzer: {e}"))?;
    let autovacuum: Option<String> = row.map(|r| r.try_get_by_index(0)).transpose().map_err(|e| e.to_string())?;
    if autovacuum.as_deref() != Some("off") {
        let _ = db.close().await;
        return Ok(None);
    }
    println!(
        "statistics: the server's autovacuum is off, so the bench runs ANALYZE every {} s during the load \
         (--no-analyze: never)",
        ANALYZE_EVERY.as_secs()
    );
    Ok(Some(tokio::spawn(async move {
        loop {
            tokio::time::sleep(ANALYZE_EVERY).await;
            if let Err(e) = db.execute_unprepared("ANALYZE").await {
                eprintln!("analyzer: {e}");
            }
        }
    })))
}

async fn run_scale(args: &Args, target: &Target) -> Result<Vec<String>, String> {
    let small = Target::start(args.database, &args.pg_url, args.pool).await?;
    println!(
        "second server: http://{} on {}, for the 1,000-order side",
        small.base.trim_start_matches("http://"),
        small.database_name()
    );
    let result = scale::run(&small, target, args.orders).await;
    small.stop(false).await;
    let s = result?;
    let mut lines = vec![String::new(), format!("scale: {} vs {} orders, p50 (p99) in ms", scale::SMALL, args.orders)];
    for name in &s.missing {
        lines.push(format!("  not measured: {name} (no such route yet: 404)"));
    }
    let (mut worst, mut figures_p99): (f64, f64) = (0.0, 0.0);
    for &(name, goal) in &s.names {
        let (Some(a), Some(b)) = (s.small.get(name), s.large.get(name)) else { continue };
        let r = b.quantile_ms(0.5) / a.quantile_ms(0.5).max(0.001);
        match goal {
            scale::Goal::Flat => worst = worst.max(r),
            scale::Goal::Figures => figures_p99 = figures_p99.max(b.quantile_ms(0.99)),
            scale::Goal::Record => {}
        }
        lines.push(format!(
            "  {name:<38} {:>7.2} ({:>6.2}) -> {:>7.2} ({:>6.2})  x{r:.2}{}",
            a.quantile_ms(0.5),
            a.quantile_ms(0.99),
            b.quantile_ms(0.5),
            b.quantile_ms(0.99),
            if b.failed() > 0 { "  (errors: see the table)" } else { "" }
        ));
    }
    lines.push(format!("seed_rows_per_s={:.0}", s.seeded.rows() as f64 / s.seed_time.as_secs_f64()));
    lines.push(format!("rss_mib={:.1} (both servers and the bench)", mib(rss::kib().unwrap_or(0))));
    lines.push(format!("figures_30_days_worst_p99_ms={figures_p99:.1} (at {} orders; the target is 100)", args.orders));
    lines.push(format!("scale_worst_p50_ratio={worst:.2} (lists and jobs; the target is 1.5)"));
    Ok(lines)
}
