//! The real `shenbian` binary: the CLI, configuration errors, and SIGTERM with requests in
//! flight. These run the executable cargo built for this package (`CARGO_BIN_EXE_shenbian`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_shenbian");
const PASSWORD: &str = "district-admin-2026";

fn shenbian(data_dir: &std::path::Path) -> Command {
    let mut command = Command::new(BIN);
    command
        .env_remove("SHENBIAN_DATABASE_URL")
        .env("SHENBIAN_DATA_DIR", data_dir)
        .env("SHENBIAN_BIND", "127.0.0.1:0")
        .env("SHENBIAN_LOG", "info")
        .env("SHENBIAN_ADMIN_PASSWORD", PASSWORD);
    command
}

/// A server process, its address read from its first line, and its log once ready.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data_dir: &std::path::Path) -> Self {
        let mut child =
            shenbian(data_dir).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn shenbian");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line.trim().rsplit("http://").next().unwrap().parse().expect("listening line");
        // Ready when the log says so: read the log, never sleep.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut log = String::new();
        loop {
            log.clear();
            assert!(stderr.read_line(&mut log).unwrap() > 0, "server exited before it was ready");
            if log.contains("database ready") {
                break;
            }
        }
        std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
        Self { child, addr }
    }

    fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn register_body(phone: &str) -> String {
    format!(r#"{{"phone":"{phone}","password":"{PASSWORD}","display_name":"张三"}}"#)
}

#[test]
fn sigterm_lets_in_flight_requests_finish_then_exits() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());

    // Three requests whose handlers are running: each has asked for its body
    // (`100 Continue`), so the server is inside it when the signal arrives.
    let mut in_flight = Vec::new();
    for i in 0..3 {
        let body = register_body(&format!("1370000000{i}"));
        let mut stream = TcpStream::connect(server.addr).unwrap();
        write!(
            stream,
            "POST /api/v1/auth/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        let mut interim = [0u8; 25];
        stream.read_exact(&mut interim).unwrap();
        assert!(String::from_utf8_lossy(&interim).starts_with("HTTP/1.1 100 Continue"));
        in_flight.push((stream, body));
    }

    server.terminate();

    for (mut stream, body) in in_flight {
        stream.write_all(body.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    }
    let status = server.child.wait().unwrap();
    assert!(status.success(), "clean exit: {status}");
    assert!(TcpStream::connect(server.addr).is_err(), "no longer listening");
    let log = dir.path().join("shenbian.db-wal");
    let left = std::fs::metadata(&log).map_or(0, |m| m.len());
    assert_eq!(left, 0, "a clean stop leaves the data in the database file, none in its log");
}

/// Sends one request and returns the whole response.
fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn backup_copies_a_running_database_into_a_file_that_serves_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let registered = request(server.addr, "POST", "/api/v1/auth/register", &register_body("13700000042"));
    assert!(registered.starts_with("HTTP/1.1 201"), "{registered}");

    let copy = tempfile::tempdir().unwrap();
    let file = copy.path().join("shenbian.db");
    let out = shenbian(dir.path()).args(["backup", "--to"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let again = shenbian(dir.path()).args(["backup", "--to"]).arg(&file).output().unwrap();
    assert!(!again.status.success(), "an existing file is never overwritten");
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));
    drop(server);

    // The copy alone, served from another directory, knows the account.
    let restored = Server::start(copy.path());
    let body = format!(r#"{{"phone":"13700000042","password":"{PASSWORD}"}}"#);
    let signed_in = request(restored.addr, "POST", "/api/v1/auth/login", &body);
    assert!(signed_in.starts_with("HTTP/1.1 200"), "{signed_in}");
}

#[test]
fn the_first_admin_is_made_from_the_command_line_even_while_a_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let out = shenbian(dir.path())
        .args(["admin", "create", "--phone", "13900000001", "--name", "区管理员"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("admin created"));

    let again = shenbian(dir.path())
        .args(["admin", "create", "--phone", "13900000001", "--name", "区管理员"])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists"));

    // The running server signs the new admin in.
    let body = format!(r#"{{"phone":"13900000001","password":"{PASSWORD}"}}"#);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    write!(stream, "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(r#""roles":["admin"]"#));
}

#[test]
fn admin_create_refuses_a_weak_password_or_a_bad_phone() {
    let dir = tempfile::tempdir().unwrap();
    let weak = shenbian(dir.path())
        .env("SHENBIAN_ADMIN_PASSWORD", "12345678")
        .args(["admin", "create", "--phone", "13900000001", "--name", "管理员"])
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("password"));
    let bad_phone =
        shenbian(dir.path()).args(["admin", "create", "--phone", "12345", "--name", "管理员"]).output().unwrap();
    assert!(!bad_phone.status.success());
    assert!(String::from_utf8_lossy(&bad_phone.stderr).contains("--phone"));
}

#[test]
fn migrate_creates_the_embedded_database_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested").join("data");
    let out = shenbian(&data).arg("migrate").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(data.join("shenbian.db").exists());
    let twice = shenbian(&data).arg("migrate").output().unwrap();
    assert!(twice.status.success(), "migrating again is a no-op");
}

#[test]
fn a_bad_setting_stops_the_start_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = shenbian(dir.path()).env("SHENBIAN_JWT_SECRET", "too-short").arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("jwt_secret"), "{stderr}");
    assert!(!stderr.contains("too-short"), "the secret itself is not echoed");

    let out = shenbian(dir.path()).env("SHENBIAN_BIND", "not-an-address").arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).to_lowercase().contains("bind"));

    let out = shenbian(dir.path()).arg("--bind").arg("nowhere").arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_settings_file_that_is_not_there_stops_the_start_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let out = shenbian(dir.path()).arg("--config").arg(&missing).arg("migrate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&*missing.to_string_lossy()));
    let out = shenbian(dir.path()).env("SHENBIAN_CONFIG", &missing).arg("serve").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&*missing.to_string_lossy()));
    assert!(!dir.path().join("shenbian.db").exists(), "nothing ran");
}

#[test]
fn a_bad_flag_is_named_without_a_source_path() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["serve", "--bind", "nowhere"][..],
        &["--log-format", "xml", "migrate"],
        &["--database-url", "mysql://db/shenbian", "migrate"],
    ] {
        let out = shenbian(dir.path()).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(args.iter().find(|a| a.starts_with("--")).unwrap()), "{stderr}");
        assert!(!stderr.contains(".rs"), "{stderr}");
    }
    let out = shenbian(dir.path()).args(["--bind", "127.0.0.1:0", "migrate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "serve's flags are refused before another command");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bind"));
}

fn help(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).arg("--help").output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_command_lists_only_its_own_flags() {
    let global = ["--config", "--database-url", "--data-dir", "--log-format"];
    for command in [&["migrate"][..], &["demo"], &["backup"], &["admin", "create"]] {
        let text = help(command);
        for flag in global {
            assert!(text.contains(flag), "{command:?} lists {flag}");
        }
        for flag in ["--bind", "--no-worker"] {
            assert!(!text.contains(flag), "{command:?} does not list {flag}:\n{text}");
        }
    }
    assert!(help(&["serve"]).contains("--bind") && help(&["serve"]).contains("--no-worker"));
    assert!(help(&["backup"]).contains("--to"));
    let create = help(&["admin", "create"]);
    assert!(create.contains("--phone") && create.contains("--name"));
    assert!(!help(&["migrate"]).contains("--phone"));
}

#[test]
fn admin_create_without_a_terminal_says_to_set_the_password_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = shenbian(dir.path())
        .env_remove("SHENBIAN_ADMIN_PASSWORD")
        .args(["admin", "create", "--phone", "13900000001", "--name", "管理员"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("set SHENBIAN_ADMIN_PASSWORD"), "{stderr}");
}

#[test]
fn one_off_commands_print_their_output_without_info_lines_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let demo = shenbian(dir.path()).env_remove("SHENBIAN_LOG").arg("demo").output().unwrap();
    assert!(demo.status.success(), "{}", String::from_utf8_lossy(&demo.stderr));
    assert!(String::from_utf8_lossy(&demo.stdout).contains("sign in with"));
    let stderr = String::from_utf8_lossy(&demo.stderr);
    assert!(!stderr.contains("INFO"), "{stderr}");

    let other = tempfile::tempdir().unwrap();
    let asked = shenbian(other.path()).env("SHENBIAN_LOG", "info").arg("migrate").output().unwrap();
    assert!(asked.status.success());
    assert!(String::from_utf8_lossy(&asked.stderr).contains("INFO"), "SHENBIAN_LOG says otherwise");
}
