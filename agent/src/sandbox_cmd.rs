//! `kai sandbox` (serve a simulated cluster) and the in-process sandbox behind `--sandbox`.

use std::path::PathBuf;

use anyhow::Context;
use kai_sandbox::faults::ForbiddenRule;
use kai_sandbox::{Faults, Sandbox, SandboxOptions, Scenario};

use crate::cli::SandboxArgs;
use crate::{exit, usage};

/// A sandbox served in-process for one run, with its kubeconfig in a temporary file.
pub struct Embedded {
    /// The running sandbox: held so it serves for the whole run.
    sandbox: Sandbox,
    /// Path of the kubeconfig pointing at it; removed on drop.
    pub kubeconfig: PathBuf,
}

impl Embedded {
    /// Loads a built-in scenario or a scenario file and serves it on a free loopback port.
    pub async fn start(name: &str) -> anyhow::Result<Embedded> {
        Embedded::start_with(load_scenario(name)?, SandboxOptions::default()).await
    }

    /// Serves a parsed scenario with `options` (a manual clock, for `kai eval`).
    pub async fn start_with(
        scenario: Scenario,
        options: SandboxOptions,
    ) -> anyhow::Result<Embedded> {
        let name = scenario.name.clone();
        let sandbox = Sandbox::start(scenario, options)
            .await
            .map_err(|e| anyhow::anyhow!("cannot start the sandbox: {e}"))?;
        let kubeconfig = std::env::temp_dir().join(format!(
            "kai-sandbox-{}-{}.kubeconfig",
            std::process::id(),
            sandbox.port()
        ));
        sandbox
            .write_kubeconfig(&kubeconfig)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        tracing::info!(url = %sandbox.url(), "serving sandbox {name} in-process");
        Ok(Embedded {
            sandbox,
            kubeconfig,
        })
    }

    /// The running sandbox.
    pub fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl Drop for Embedded {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.kubeconfig);
    }
}

/// `kai sandbox`: lists the scenarios, or serves one until Ctrl-C.
pub async fn serve(args: &SandboxArgs) -> anyhow::Result<u8> {
    if args.list {
        let builtins = Scenario::builtins();
        let width = builtins.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (name, description) in builtins {
            outln!("{name:width$}  {description}");
        }
        return Ok(exit::OK);
    }
    let scenario = match args.generate_pods {
        Some(n) => Scenario::generated(n),
        None => load_scenario(&args.scenario)?,
    };
    let identity = match &args.as_identity {
        Some(spec) => {
            kai_sandbox::rbac::Subject::parse(spec).map_err(|e| usage(format!("--as: {e}")))?
        }
        None => kai_sandbox::rbac::Subject::admin(),
    };
    let faults = faults_from(args, &scenario.settings.faults)?;
    let options = SandboxOptions {
        port: args.port,
        faults,
        clock: None,
    };
    let name = scenario.name.clone();
    let sandbox = Sandbox::start(scenario, options)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let path = match &args.write_kubeconfig {
        Some(p) => p.clone(),
        None => std::env::temp_dir().join(format!("kai-sandbox-{}.kubeconfig", sandbox.port())),
    };
    sandbox.ensure_service_account(&identity);
    sandbox
        .write_kubeconfig_as(&path, &identity)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for notice in sandbox.notices() {
        errln!("notice: {notice}");
    }
    let shown = path.display();
    outln!(
        "Serving scenario \"{name}\" at {} (Ctrl-C to stop)",
        sandbox.url()
    );
    outln!("kubeconfig: {shown} (context {})", sandbox.context_name());
    if args.as_identity.is_some() {
        outln!("user: {} (RBAC applies)", identity.user);
    }
    outln!("Try:");
    outln!("  kubectl --kubeconfig {shown} get pods -A");
    outln!("  kai --kubeconfig {shown} \"why is backend crashing\"");
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sandbox.shutdown();
    if args.write_kubeconfig.is_none() {
        let _ = std::fs::remove_file(&path);
    }
    Ok(exit::OK)
}

/// Loads a built-in scenario or a scenario file; an unknown name is a usage error that
/// suggests the closest built-in.
fn load_scenario(name: &str) -> anyhow::Result<Scenario> {
    match Scenario::load(name) {
        Ok(s) => Ok(s),
        Err(kai_sandbox::SandboxError::UnknownScenario(_)) => {
            let builtins = Scenario::builtins();
            let names: Vec<&str> = builtins.iter().map(|(n, _)| *n).collect();
            let hint = match kai_tools::suggest::closest(name, names.iter().copied()) {
                Some(s) => format!("did you mean \"{s}\"? "),
                None => String::new(),
            };
            Err(usage(format!(
                "unknown scenario \"{name}\": not a built-in and no such file; {hint}built-ins: {} (kai sandbox --list describes them)",
                names.join(", ")
            )))
        }
        Err(e) => Err(usage(e.to_string())),
    }
}

/// Faults from the command line, layered over the scenario's; None when no flag was given.
fn faults_from(args: &SandboxArgs, scenario: &Faults) -> anyhow::Result<Option<Faults>> {
    if args.latency_ms.is_none()
        && args.error_rate.is_none()
        && args.throttle_rate.is_none()
        && args.forbid.is_empty()
    {
        return Ok(None);
    }
    let mut f = scenario.clone();
    if let Some(ms) = args.latency_ms {
        f.latency_ms = ms;
    }
    for (rate, slot, flag) in [
        (args.error_rate, &mut f.error_rate, "--error-rate"),
        (args.throttle_rate, &mut f.throttle_rate, "--throttle-rate"),
    ] {
        if let Some(r) = rate {
            if !(0.0..=1.0).contains(&r) {
                return Err(usage(format!("{flag} {r}: must be between 0 and 1")));
            }
            *slot = r;
        }
    }
    for rule in &args.forbid {
        let Some((verb, resource)) = rule.split_once(':') else {
            return Err(usage(format!(
                "--forbid {rule}: expected VERB:RESOURCE, e.g. list:secrets or patch:deployments"
            )));
        };
        f.forbidden.push(ForbiddenRule {
            verbs: vec![verb.to_string()],
            resources: vec![resource.to_string()],
            namespaces: Vec::new(),
        });
    }
    Ok(Some(f))
}
