//! Started as root with `user` set, mallard binds its sockets as root and then runs,
//! supervisor and workers alike, as that user.

use std::os::unix::fs::{MetadataExt, PermissionsExt};

use mallard_harness::{Options, Server};

/// The real, effective, saved and filesystem uids of a process.
fn uids(pid: u32) -> Vec<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc/pid/status");
    let line = status.lines().find(|l| l.starts_with("Uid:")).expect("a Uid line");
    line.split_whitespace().skip(1).map(|u| u.parse().unwrap()).collect()
}

#[test]
fn root_drops_to_the_configured_user() {
    let dir = tempfile::tempdir().unwrap();
    // The user must be able to reach the data directory the test chose.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.path().join("data");
    let server = Server::start(
        env!("CARGO_BIN_EXE_mallard"),
        Options {
            storage: "memory",
            workers: 2,
            data_dir: Some(data_dir.clone()),
            env: vec![("MALLARD_USER".into(), "nobody".into())],
            ..Options::default()
        },
    );
    let mut client = server.connect();
    assert_eq!(client.query_one("select 40 + 2", &[]).unwrap().get::<_, i32>(0), 42);

    let root = nix::unistd::geteuid().is_root();
    if !root {
        assert!(server.logs().contains("`user` is not needed and is ignored"), "{}", server.logs());
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody").unwrap().expect("a nobody user").uid.as_raw();
    assert_eq!(uids(server.pid()), vec![nobody; 4], "supervisor");
    let workers = server.wait_workers(2, std::time::Duration::from_secs(10));
    for w in workers {
        assert_eq!(uids(w), vec![nobody; 4], "worker {w}");
    }
    let admin = std::fs::metadata(data_dir.join("mallard.sock")).unwrap();
    assert_eq!((admin.uid(), admin.mode() & 0o777), (nobody, 0o600), "admin socket owner and mode");
    assert_eq!(std::fs::metadata(&data_dir).unwrap().uid(), nobody, "data directory owner");
    // Root can still ask it how it is.
    let status = server.admin("status", &["--json"]);
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));
    assert!(server.logs().contains("dropped root"), "{}", server.logs());
}
