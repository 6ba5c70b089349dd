//! Issue 15, item 4: the database is private to the service's user, and the staff signing secret
//! can come from the config instead of the database.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use axum::http::StatusCode;
use common::server::{build, config};
use kefu::config::Config;
use kefu::identity::Role;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn with_suffix(p: &Path, s: &str) -> std::path::PathBuf {
    let mut o = p.as_os_str().to_owned();
    o.push(s);
    o.into()
}

#[tokio::test]
async fn first_start_creates_a_private_folder_and_private_files() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data/kefu.db");
    let app = build(config(&db)).await;
    // a write, so the WAL is in use
    kefu::accounts::add(&app.store, "li", "", Role::Agent, "agent-password-1").await.unwrap();
    assert_eq!(mode(db.parent().unwrap()), 0o700);
    assert_eq!(mode(&db), 0o600);
    for s in ["-wal", "-shm"] {
        let p = with_suffix(&db, s);
        assert!(p.exists(), "{} exists while the store is open", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
}

#[tokio::test]
async fn an_existing_database_with_loose_modes_is_made_private_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("data");
    std::fs::create_dir(&folder).unwrap();
    let db = folder.join("kefu.db");
    // what the issue found: a database made 0644 in a 0755 folder, with its -wal and -shm
    // (another connection keeps them open)
    let other = rusqlite::Connection::open(&db).unwrap();
    other.pragma_update(None, "journal_mode", "WAL").unwrap();
    other.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);").unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    for p in [db.clone(), with_suffix(&db, "-wal"), with_suffix(&db, "-shm")] {
        assert!(p.exists(), "{}", p.display());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    assert_eq!(mode(&db), 0o644);

    let _store = kefu::store::Store::open(&db).unwrap();
    assert_eq!(mode(&folder), 0o700);
    for p in [db.clone(), with_suffix(&db, "-wal"), with_suffix(&db, "-shm")] {
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    drop(other);
}

#[tokio::test]
async fn the_staff_secret_from_the_config_signs_the_tokens_and_is_never_printed() {
    const STAFF: &str = "a-staff-secret-from-the-environment-0123456789";
    let mut c = Config::default();
    c.apply_env(|k| (k == "KEFU_STAFF_TOKEN_SECRET").then(|| "too-short".to_string())).unwrap();
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("staff_token_secret") && e.contains("32"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let mut config = config(&dir.path().join("kefu.db"));
    config.apply_env(|k| (k == "KEFU_STAFF_TOKEN_SECRET").then(|| STAFF.to_string())).unwrap();
    config.token_secret = Some("shopper-secret-0123456789".into());
    config.validate().unwrap();
    let printed = format!("{config:?} {config:#?}");
    assert!(!printed.contains(STAFF), "{printed}");
    assert!(!printed.contains("shopper-secret-0123456789"), "{printed}");
    assert!(printed.contains("staff_token_secret"), "{printed}");

    let app = build(config).await;
    let token = common::token(&app, "li", Role::Agent).await;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(kefu::identity::verify_staff(STAFF, &token, now).unwrap().sub, "li");
    // and the one kept in the database is not the one in force
    let stored = kefu::accounts::staff_secret(&app.store).await.unwrap();
    assert!(kefu::identity::verify_staff(&stored, &token, now).is_err());
    let (status, _) = common::call(&app, "GET", "/api/me", Some(&token), None).await;
    assert_eq!(status, StatusCode::OK);
}
