//! A busy machine is detected: two busy-looping processes started beside a short CPU sweep
//! make every point `disturbed`, with other processes' CPU use in the figure; the same sweep
//! on a quiet machine is not flagged; `pooltune sweep --out` says so on stderr. The tests of
//! this file take turns (one lock), so that none is the other's busy neighbour.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

use pooltune::cancel::CancelToken;
use pooltune::measure::ProcessUsage;
use pooltune::result::SweepResult;
use pooltune::spec::{PoolSpec, Preset, SweepSpec, WorkloadSpec};
use pooltune::sweep;
use pooltune::trust::{BusySampler, DISTURBED_MEAN_CPUS};

/// Held by each test while it runs.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Busy-looping shells, killed and reaped when dropped (also when an assertion fails).
struct Spinners(Vec<Child>);

impl Spinners {
    fn start(count: usize) -> Spinners {
        Spinners(
            (0..count)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn preset() -> Preset {
    Preset {
        schema_version: 1,
        name: "busy".into(),
        description: String::new(),
        workload: WorkloadSpec::Cpu { compute_us: 200 },
        pool: PoolSpec::Rayon,
        sweep: SweepSpec {
            search: Default::default(),
            target_ci: None,
            threads: Some(vec![1, 2]),
            threads_range: None,
            trials: 3,
            tasks_per_trial: None,
            trial_ms: Some(150),
            warmup_ms: 30,
            // Measure what happens, not what a retry makes of it.
            retry_disturbed: 0,
        },
        folder: None,
    }
}

fn sweep() -> SweepResult {
    sweep::run(&preset(), &CancelToken::new(), &mut |_| {}).unwrap()
}

#[test]
fn a_disturbed_trial_is_measured_again_and_counted_once() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut retrying = preset();
    retrying.sweep.retry_disturbed = 2;
    let result = {
        let _spinners = Spinners::start(2);
        std::thread::sleep(Duration::from_millis(100));
        sweep::run(&retrying, &CancelToken::new(), &mut |_| {}).unwrap()
    };
    for p in &result.points {
        // Two busy loops disturb the attempts: a disturbed trial is measured again (up to
        // twice) and counted once, so retried_trials counts trials (at most 3), never
        // attempts (up to 9), and the point still has its three trials. A trial whose first
        // attempt the scheduler happened to leave quiet (seen once at a load of 700) is kept
        // as it is, hence at least 1 rather than exactly 3.
        assert_eq!(p.trials, 3, "{p:?}");
        assert_eq!(p.trial_throughputs_per_s.len(), 3, "{p:?}");
        assert!((1..=3).contains(&p.retried_trials), "{p:?}");
        assert!(p.disturbed, "{p:?}");
    }
}

fn mean_other_cpus(result: &SweepResult) -> f64 {
    let figures: Vec<f64> = result
        .points
        .iter()
        .map(|p| p.other_cpu_utilization)
        .collect();
    figures.iter().sum::<f64>() / figures.len() as f64
}

/// What other processes use while this one sleeps.
fn background_cpus() -> f64 {
    let mut sampler = BusySampler::system();
    let mark = sampler.mark();
    let before = ProcessUsage::now();
    std::thread::sleep(Duration::from_millis(500));
    let own = ProcessUsage::now().since(&before).cpu_ns;
    sampler.other_cpus(&mark, own, mark.elapsed(), pooltune::machine::online_cpus())
}

#[test]
fn two_busy_processes_flag_every_point_and_a_quiet_sweep_is_not_flagged() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let loaded = {
        let _spinners = Spinners::start(2);
        // Let them be scheduled before the first trial.
        std::thread::sleep(Duration::from_millis(100));
        sweep()
    };
    assert_eq!(loaded.points.len(), 2);
    for p in &loaded.points {
        assert_eq!(p.error, None);
        assert!(
            p.disturbed,
            "{} threads beside two busy loops: {p:?}",
            p.threads
        );
        assert!(p.other_cpu_utilization > DISTURBED_MEAN_CPUS, "{p:?}");
    }
    assert!(
        loaded
            .outcome
            .warnings
            .iter()
            .any(|w| w.starts_with("other processes used")),
        "{:?}",
        loaded.outcome.warnings
    );

    // The quiet half holds only on a quiet machine (CI's is); on a machine that other jobs
    // keep busy it would test them, not pooltune. A 150 ms trial is disturbed by a quarter of
    // a CPU for a moment, so a sweep between two quiet readings that still flags a point is
    // measured again, up to QUIET_ATTEMPTS times: pooltune taking its own CPU for another
    // process's would flag every attempt.
    const QUIET_ATTEMPTS: usize = 3;
    let mut flagged_when_quiet: Option<SweepResult> = None;
    for attempt in 1..=QUIET_ATTEMPTS {
        let background = background_cpus();
        let alone = sweep();
        if background >= DISTURBED_MEAN_CPUS || background_cpus() >= DISTURBED_MEAN_CPUS {
            eprintln!(
                "attempt {attempt}: the machine is busy without us (other processes used \
                 {background:.2} CPUs): the quiet half is not checked; alone the sweep saw {:.2}",
                mean_other_cpus(&alone)
            );
            continue;
        }
        if alone.points.iter().any(|p| p.disturbed) {
            eprintln!("attempt {attempt}: a point was flagged between two quiet readings");
            flagged_when_quiet = Some(alone);
            continue;
        }
        assert!(
            alone
                .outcome
                .warnings
                .iter()
                .all(|w| !w.starts_with("other processes")),
            "{:?}",
            alone.outcome.warnings
        );
        assert!(
            mean_other_cpus(&loaded) - mean_other_cpus(&alone) >= 0.5,
            "two busy loops showed as {:.2} CPUs, alone {:.2}",
            mean_other_cpus(&loaded),
            mean_other_cpus(&alone)
        );
        return;
    }
    if let Some(alone) = flagged_when_quiet {
        panic!(
            "on a quiet machine no attempt of {QUIET_ATTEMPTS} measured an unflagged sweep: {:?}",
            alone.points
        );
    }
}

#[test]
fn the_cli_prints_the_warning_on_stderr_after_writing_the_file() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("busy.toml");
    std::fs::write(
        &preset,
        "schema_version = 1\nname = \"busy\"\n[workload]\nkind = \"cpu\"\ncompute_us = 200\n\
         [sweep]\nthreads = [1, 2]\ntrials = 3\ntrial_ms = 150\nwarmup_ms = 30\nretry_disturbed = 0\n",
    )
    .unwrap();
    let out = dir.path().join("result.json");
    let output = {
        let _spinners = Spinners::start(2);
        std::thread::sleep(Duration::from_millis(100));
        Command::new(env!("CARGO_BIN_EXE_pooltune"))
            .args(["sweep", "--format", "json", "--preset"])
            .arg(&preset)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("warning: other processes used")),
        "{stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let warnings = json["warnings"].as_array().unwrap();
    assert!(!warnings.is_empty());
    for point in json["points"].as_array().unwrap() {
        assert_eq!(point["disturbed"], true, "{point}");
        assert!(point["other_cpu_utilization"].as_f64().unwrap() > DISTURBED_MEAN_CPUS);
        assert_eq!(point["retried_trials"], 0);
    }
}
