//! The deployment files CI can check without Docker: each manifest parses, each example runs
//! reelframe with `--shard auto`, the Slurm script passes `bash -n`, and the Dockerfile builds on
//! Debian bookworm with the binary as its entrypoint.

mod common;

use common::repo_dir;
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_dir().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `args`/`command` list of each example, as reelframe would get it.
fn assert_shards_automatically(args: &[String], what: &str) {
    let at = args
        .iter()
        .position(|a| a == "--shard")
        .unwrap_or_else(|| panic!("{what}: no --shard"));
    assert!(
        args[at + 1].starts_with("auto"),
        "{what}: --shard {}",
        args[at + 1]
    );
    assert_eq!(args[0], "extract", "{what}");
}

#[test]
fn the_kubernetes_indexed_job_parses_and_shards_by_its_index() {
    let path = repo_dir().join("deploy/kubernetes-indexed-job.yaml");
    // PyYAML (installed by .ci/run) parses the manifest and hands it back as JSON
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let job: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["spec"]["completionMode"], "Indexed");
    let completions = job["spec"]["completions"].as_u64().unwrap();
    let args: Vec<String> =
        serde_json::from_value(job["spec"]["template"]["spec"]["containers"][0]["args"].clone())
            .unwrap();
    assert_shards_automatically(&args, "kubernetes");
    let shard = &args[args.iter().position(|a| a == "--shard").unwrap() + 1];
    assert_eq!(
        shard,
        &format!("auto/{completions}"),
        "the shard count is the completions"
    );
}

#[test]
fn the_aws_batch_job_definition_parses_and_shards_by_its_index() {
    let definition: serde_json::Value =
        serde_json::from_str(&read("deploy/aws-batch-job-definition.json")).unwrap();
    assert_eq!(definition["type"], "container");
    let command: Vec<String> =
        serde_json::from_value(definition["containerProperties"]["command"].clone()).unwrap();
    assert_shards_automatically(&command, "aws batch");
}

#[test]
fn the_slurm_script_is_valid_bash_and_shards_by_its_task() {
    let path = repo_dir().join("deploy/slurm-array.sh");
    let status = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(status.success());
    let text = read("deploy/slurm-array.sh");
    assert!(text.contains("#SBATCH --array="), "{text}");
    assert!(text.contains("--shard auto"), "{text}");
}

#[test]
fn the_dockerfile_builds_on_bookworm_and_runs_the_binary() {
    let text = read("Dockerfile");
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(
        froms.len(),
        2,
        "a build stage and a runtime stage: {froms:?}"
    );
    assert!(froms.iter().all(|l| l.contains("bookworm")), "{froms:?}");
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("ENTRYPOINT [\"reelframe\"]"));
    assert!(
        text.contains("USER reelframe"),
        "the image does not run as root"
    );
}
