//! How people really ask, answered offline: a table of phrasings across the built-in scenarios,
//! each run through the `kai` binary (`--output json`) against one sandbox per scenario over
//! HTTP. Each row gives the question, the intent kai must read, the object it must be about
//! and a fact the answer must contain; no answer may report a word of the sentence as a
//! missing object unless the row expects it.

// A panic with the reason is the test failure we want.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::Arc;

use kai_tests::{TestCluster, run, stderr, stdout};
use serde_json::Value;

/// (question, intent, target substring or "" for any/none, fact the answer contains).
type Row = (&'static str, &'static str, &'static str, &'static str);

const DEMO: &[Row] = &[
    (
        "why is backend crashing",
        "why",
        "deployment shop/backend",
        "KeyError: 'DATABASE_URL'",
    ),
    (
        "Why is backend crashing?",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "why does the backend keep crashing",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "whats wrong with backend",
        "why",
        "shop/backend",
        "DATABASE_URL",
    ),
    (
        "what's up with the backend pods",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "backend is down, why?",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "why is backnd crashing",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "WHY IS BACKEND FAILING",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "can you tell me why backend won't start please",
        "why",
        "shop/backend",
        "KeyError",
    ),
    (
        "why is deploy/backend not ready",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "why is my app crashing",
        "health",
        "",
        "deployment shop/backend",
    ),
    ("why won't my app start", "health", "", "CrashLoopBackOff"),
    (
        "why can't the frontend reach the backend",
        "why",
        "shop/frontend",
        "backend",
    ),
    ("is the frontend ok?", "why", "shop/frontend", "frontend"),
    (
        "is the database healthy",
        "why",
        "statefulset shop/database",
        "database",
    ),
    ("database?", "why", "shop/database", "database"),
    ("what's wrong", "health", "", "CrashLoopBackOff"),
    (
        "whats wrong in shop",
        "health",
        "",
        "deployment shop/backend",
    ),
    ("is shop healthy?", "health", "", "CrashLoopBackOff"),
    ("any problems?", "health", "", "CrashLoopBackOff"),
    ("status", "health", "", "shop/backend"),
    ("health check please", "health", "", "CrashLoopBackOff"),
    ("is anything broken", "health", "", "all namespaces"),
    (
        "is everything fine across the cluster",
        "health",
        "",
        "all namespaces",
    ),
    (
        "what's broken in the whole cluster",
        "health",
        "",
        "all namespaces",
    ),
    ("show the logs of backend", "logs", "shop/backend", "Logs"),
    (
        "show the previous logs of backend",
        "logs",
        "shop/backend",
        "KeyError: 'DATABASE_URL'",
    ),
    ("backend logs", "logs", "shop/backend", "backend"),
    (
        "logs for the backend pls",
        "logs",
        "shop/backend",
        "backend",
    ),
    (
        "kubectl logs deploy/backend --previous",
        "logs",
        "shop/backend",
        "KeyError",
    ),
    (
        "any errors in backend's logs?",
        "logs",
        "shop/backend",
        "Error lines",
    ),
    (
        "show me the stack trace from backend before it crashed",
        "logs",
        "shop/backend",
        "KeyError",
    ),
    ("logz of frontend", "logs", "shop/frontend", "frontend"),
    (
        "what changed recently",
        "changes",
        "",
        "revision 2 rolled out",
    ),
    ("what changed in shop?", "changes", "", "Latest change"),
    ("anything deployed recently?", "changes", "", "rolled out"),
    ("what happened", "changes", "", "Timeline"),
    (
        "recent changes to backend",
        "changes",
        "shop/backend",
        "revision 2",
    ),
    (
        "rollout history of backend",
        "history",
        "deployment shop/backend",
        "revision 1",
    ),
    (
        "kubectl rollout history deployment backend",
        "history",
        "shop/backend",
        "shop/backend:1.3.2",
    ),
    (
        "when was backend last deployed",
        "history",
        "shop/backend",
        "revision 2",
    ),
    (
        "show revisions for the backend",
        "history",
        "shop/backend",
        "revision 2 (current)",
    ),
    (
        "what versions of backend have we had",
        "history",
        "shop/backend",
        "shop/backend:1.4.0",
    ),
    ("events of backend", "events", "shop/backend", "BackOff"),
    (
        "show events for the backend deployment",
        "events",
        "shop/backend",
        "backend",
    ),
    ("recent warnings", "events", "", "BackOff"),
    ("any warnings in shop", "events", "", "BackOff"),
    ("get events", "events", "", "shop"),
    (
        "how many replicas does frontend have",
        "replicas",
        "shop/frontend",
        "2/2",
    ),
    (
        "how many backend pods are running",
        "replicas",
        "shop/backend",
        "0/2",
    ),
    (
        "replicas in shop",
        "replicas",
        "",
        "workloads in namespace shop",
    ),
    (
        "which image is backend running",
        "images",
        "shop/backend",
        "shop/backend:1.4.0",
    ),
    (
        "what version of the frontend is deployed",
        "images",
        "shop/frontend",
        "shop/frontend:2.1.0",
    ),
    ("images in shop", "images", "", "postgres"),
    (
        "how much memory does the database use",
        "resources",
        "shop/database",
        "512Mi",
    ),
    (
        "memory use of the frontend",
        "resources",
        "shop/frontend",
        "uses",
    ),
    (
        "what are the cpu and memory limits of backend",
        "resources",
        "shop/backend",
        "memory",
    ),
    (
        "resource requests vs limits in shop",
        "resources",
        "",
        "request",
    ),
    ("which pods restart the most", "restarts", "", "restarted"),
    ("restart counts", "restarts", "", "backend"),
    (
        "how many times has backend restarted",
        "restarts",
        "shop/backend",
        "restarted",
    ),
    ("how do I fix backend", "fix", "shop/backend", "roll back"),
    (
        "how to fix the backend crash",
        "fix",
        "shop/backend",
        "rollout_undo deployment shop/backend",
    ),
    (
        "what should i do about backend",
        "fix",
        "shop/backend",
        "kai would run",
    ),
    ("fix it", "fix", "", "To fix"),
    (
        "how can I roll back backend?",
        "fix",
        "shop/backend",
        "roll back",
    ),
    ("list pods", "list", "", "backend-"),
    ("kubectl get pods -n shop", "list", "", "CrashLoopBackOff"),
    ("show deployments", "list", "", "frontend"),
    ("get svc", "list", "", "database"),
    (
        "list all pods in all namespaces",
        "list",
        "",
        "all namespaces",
    ),
    ("list secrets", "list", "", "backend-secrets"),
    ("which configmaps are there", "list", "", "frontend-config"),
    (
        "describe backend",
        "describe",
        "deployment shop/backend",
        "backend",
    ),
    (
        "describe svc frontend",
        "describe",
        "service shop/frontend",
        "frontend",
    ),
    (
        "tell me about the database",
        "describe",
        "shop/database",
        "database",
    ),
    (
        "restart backend",
        "restart",
        "deployment shop/backend",
        "Nothing was changed",
    ),
    (
        "please bounce the frontend",
        "restart",
        "shop/frontend",
        "Nothing was changed",
    ),
    (
        "scale backend to 3",
        "scale",
        "shop/backend",
        "Nothing was changed",
    ),
    (
        "scale frontend to 5 replicas",
        "scale",
        "shop/frontend",
        "Nothing was changed",
    ),
    (
        "roll back backend",
        "rollback",
        "shop/backend",
        "Nothing was changed",
    ),
    (
        "undo the last deploy of backend",
        "rollback",
        "shop/backend",
        "Nothing was changed",
    ),
    (
        "rollback backend to revision 1",
        "rollback",
        "shop/backend",
        "Nothing was changed",
    ),
    ("are my nodes ok", "nodes", "", "node"),
    ("what can you do", "help", "", "why is backend crashing"),
    ("can you help me", "help", "", "logs of"),
    ("hi", "help", "", "Ask, for example"),
    (
        "write me a poem about autumn",
        "unknown",
        "",
        "closest questions",
    ),
    (
        "what's the weather in Paris",
        "unknown",
        "",
        "closest questions",
    ),
    (
        "@kai investigate backend",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    ("@kai investigate", "health", "", "CrashLoopBackOff"),
    (
        "why is zookeeper pending",
        "why",
        "",
        "nothing named \"zookeeper\"",
    ),
    (
        "describe deployment payments-api",
        "describe",
        "",
        "nothing named \"payments-api\"",
    ),
    (
        "logs of 'cartservice'",
        "logs",
        "",
        "nothing named \"cartservice\"",
    ),
];

const ALERTS: &[Row] = &[
    (
        r#"{"receiver":"kai","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop","pod":"backend-7c476d6695-zzzzz","container":"backend","severity":"critical"},"annotations":{"summary":"Pod is crash looping."}}],"commonLabels":{"alertname":"KubePodCrashLooping"}}"#,
        "why",
        "deployment shop/backend",
        "KeyError",
    ),
    (
        r#"{"status":"success","data":{"alerts":[{"labels":{"alertname":"KubeDeploymentReplicasMismatch","deployment":"backend","namespace":"shop"},"state":"firing"}]}}"#,
        "why",
        "deployment shop/backend",
        "CrashLoopBackOff",
    ),
    (
        "[FIRING:1] KubePodCrashLooping\nLabels:\n - alertname = KubePodCrashLooping\n - namespace = shop\n - pod = backend-7c476d6695-abcde\nAnnotations:\n - summary = Pod is crash looping",
        "why",
        "shop/backend",
        "CrashLoopBackOff",
    ),
    (
        r#"KubeDeploymentReplicasMismatch{deployment="frontend", namespace="shop", severity="warning"}"#,
        "why",
        "deployment shop/frontend",
        "frontend",
    ),
    (
        "@kai investigate alertname=KubeStatefulSetReplicasMismatch namespace=shop statefulset=database",
        "why",
        "statefulset shop/database",
        "database",
    ),
];

const CRASHLOOP: &[Row] = &[
    (
        "why is worker crashing",
        "why",
        "deployment apps/worker",
        "CrashLoopBackOff",
    ),
    (
        "worker keeps restarting, what's going on?",
        "why",
        "apps/worker",
        "CrashLoopBackOff",
    ),
    ("whats wrong with the worker", "why", "apps/worker", "exit"),
    ("what's wrong", "health", "", "apps/worker"),
    ("logs of worker", "logs", "apps/worker", "worker"),
    (
        "show the crashed container's logs for worker",
        "logs",
        "apps/worker",
        "Logs of the previous",
    ),
    ("which pods restart the most", "restarts", "", "worker"),
    ("how do i fix the worker", "fix", "apps/worker", "To fix"),
    (
        "what image does worker run",
        "images",
        "apps/worker",
        "example/worker:2.0.1",
    ),
    ("what changed recently", "changes", "", "worker"),
    (
        "rollout history worker",
        "history",
        "apps/worker",
        "revision",
    ),
    ("events for worker", "events", "apps/worker", "BackOff"),
    (
        "restart worker",
        "restart",
        "apps/worker",
        "Nothing was changed",
    ),
    ("is the cluster healthy", "health", "", "all namespaces"),
];

const FAILING_JOB: &[Row] = &[
    (
        "why did nightly-report fail",
        "why",
        "job batch/nightly-report",
        "BackoffLimitExceeded",
    ),
    (
        "why did the nightly report job fail?",
        "why",
        "batch/nightly-report",
        "BackoffLimitExceeded",
    ),
    (
        "what happened to the nightly report",
        "why",
        "batch/nightly-report",
        "BackoffLimitExceeded",
    ),
    (
        "is nightly-report ok",
        "why",
        "batch/nightly-report",
        "BackoffLimitExceeded",
    ),
    ("any failed jobs?", "health", "", "nightly-report"),
    ("list jobs", "list", "", "nightly-report"),
    (
        "logs of the nightly-report job",
        "logs",
        "batch/nightly-report",
        "nightly-report",
    ),
    (
        "show events of job nightly-report",
        "events",
        "batch/nightly-report",
        "nightly-report",
    ),
    ("whats wrong in batch", "health", "", "BackoffLimitExceeded"),
    (
        "how do I fix nightly-report",
        "fix",
        "batch/nightly-report",
        "To fix",
    ),
];

const HEALTHY: &[Row] = &[
    (
        "is everything fine",
        "health",
        "",
        "No problems found in all namespaces",
    ),
    ("whats wrong", "health", "", "No problems found"),
    (
        "any issues in the cluster?",
        "health",
        "",
        "No problems found in all namespaces",
    ),
    (
        "is redis healthy",
        "why",
        "statefulset data/redis",
        "no problem with statefulset data/redis",
    ),
    ("is the api ok", "why", "deployment web/api", "no problem"),
    (
        "how is node-exporter doing",
        "why",
        "daemonset ops/node-exporter",
        "no problem",
    ),
    (
        "is the web namespace healthy",
        "health",
        "",
        "namespace web",
    ),
    ("list pods in data", "list", "", "redis-0"),
    ("show cronjobs in ops", "list", "", "cleanup"),
    ("list hpa in web", "list", "", "HorizontalPodAutoscalers"),
    ("list pvcs -A", "list", "", "all namespaces"),
    ("get nodes", "nodes", "", "node"),
    ("are the nodes healthy", "nodes", "", "healthy"),
    ("list storageclasses", "list", "", "standard"),
    (
        "describe the cleanup cronjob",
        "describe",
        "cronjob ops/cleanup",
        "cleanup",
    ),
    (
        "describe pvc in data",
        "describe",
        "",
        "PersistentVolumeClaims",
    ),
    (
        "did db-migrate succeed",
        "why",
        "job ops/db-migrate",
        "db-migrate",
    ),
    (
        "how many replicas does web have",
        "replicas",
        "deployment web/web",
        "replicas ready",
    ),
    ("what image is api running", "images", "web/api", "api="),
    (
        "how much memory is redis allowed",
        "resources",
        "data/redis",
        "memory",
    ),
    (
        "what changed recently across all namespaces",
        "changes",
        "",
        "Latest change",
    ),
    (
        "restarts in the whole cluster",
        "restarts",
        "",
        "all namespaces",
    ),
    ("what can you do", "help", "", "Ask, for example"),
    ("how do I fix things", "fix", "", "Nothing to fix"),
    ("why is redis pending", "why", "data/redis", "no problem"),
    ("scale api to 3", "scale", "web/api", "Nothing was changed"),
    (
        "restart the node-exporter daemonset",
        "restart",
        "ops/node-exporter",
        "Nothing was changed",
    ),
];

const IMAGE_PULL: &[Row] = &[
    (
        "why is web failing",
        "why",
        "deployment apps/web",
        "ImagePullBackOff",
    ),
    (
        "why can't web pull its image",
        "why",
        "apps/web",
        "nginx:1.27.99",
    ),
    ("web is stuck, why", "why", "apps/web", "ImagePullBackOff"),
    (
        "what image is web using",
        "images",
        "apps/web",
        "nginx:1.27.99",
    ),
    ("whats wrong", "health", "", "ImagePullBackOff"),
    ("events for web", "events", "apps/web", "web"),
    ("how do i fix web", "fix", "apps/web", "To fix"),
    ("rollout history of web", "history", "apps/web", "revision"),
    (
        "is the image ok for web?",
        "why",
        "apps/web",
        "ImagePullBackOff",
    ),
    ("list pods", "list", "", "web-"),
];

const MISSING_CONFIG: &[Row] = &[
    (
        "why is api failing",
        "why",
        "deployment apps/api",
        "CreateContainerConfigError",
    ),
    (
        "why is the api pod not starting",
        "why",
        "apps/api",
        "not found",
    ),
    (
        "why is worker stuck",
        "why",
        "deployment apps/worker",
        "CreateContainerConfigError",
    ),
    (
        "why is reporter stuck in ContainerCreating",
        "why",
        "apps/reporter",
        "FailedMount",
    ),
    ("what's wrong in apps", "health", "", "3 critical problems"),
    (
        "whats wrong with reporter's volume",
        "why",
        "apps/reporter",
        "FailedMount",
    ),
    ("how do I fix api", "fix", "apps/api", "To fix"),
    ("list secrets", "list", "", "Secrets"),
    ("list configmaps in apps", "list", "", "ConfigMaps"),
    ("describe reporter", "describe", "apps/reporter", "reporter"),
    (
        "what's wrong with the config",
        "health",
        "",
        "CreateContainerConfigError",
    ),
    ("show warnings", "events", "", "apps"),
];

const MORE_FAILURES: &[Row] = &[
    (
        "why is billing failing",
        "why",
        "deployment ops/billing",
        "Init:CrashLoopBackOff",
    ),
    ("why is billing stuck in init", "why", "ops/billing", "init"),
    (
        "why are there no exporter pods",
        "why",
        "deployment ops/exporter",
        "FailedCreate",
    ),
    (
        "what's wrong with queue",
        "why",
        "statefulset ops/queue",
        "ServiceNotFound",
    ),
    (
        "what's up with the storefront ingress",
        "why",
        "ingress ops/storefront",
        "IngressClassNotFound",
    ),
    (
        "is the search hpa working",
        "why",
        "horizontalpodautoscaler ops/search",
        "FailedGetScale",
    ),
    (
        "why was reports evicted",
        "why",
        "ops/reports-7f9c6d5b8-x2x9q",
        "Evicted",
    ),
    (
        "what happened to pod reports-7f9c6d5b8-x2x9q",
        "why",
        "pod ops/reports-7f9c6d5b8-x2x9q",
        "Evicted",
    ),
    (
        "is the cleanup cronjob ok",
        "why",
        "cronjob ops/cleanup",
        "cleanup",
    ),
    ("is ledger ok", "why", "deployment ops/ledger", "ledger"),
    ("what's wrong", "health", "", "billing"),
    ("whats broken in ops", "health", "", "exporter"),
    ("list ingresses", "list", "", "storefront"),
    ("show network policies", "list", "", "ledger-ingress"),
    ("list pdbs", "list", "", "ledger"),
    ("how do I fix billing", "fix", "ops/billing", "To fix"),
    (
        "describe ing storefront",
        "describe",
        "ingress ops/storefront",
        "storefront",
    ),
    (
        "describe hpa search",
        "describe",
        "horizontalpodautoscaler ops/search",
        "search",
    ),
    ("restart counts in ops", "restarts", "", "billing"),
    (
        "inventory-sync?",
        "why",
        "ops/inventory-sync",
        "inventory-sync",
    ),
];

const NODE_NOT_READY: &[Row] = &[
    ("are the nodes ok", "nodes", "", "node-3"),
    (
        "what happened to node-3",
        "why",
        "node node-3",
        "NodeNotReady",
    ),
    (
        "why is node-3 not ready",
        "why",
        "node node-3",
        "NodeNotReady",
    ),
    (
        "is node-1 healthy",
        "why",
        "node node-1",
        "no problem with node node-1",
    ),
    ("list nodes", "nodes", "", "NodeNotReady"),
    ("kubectl get no", "nodes", "", "node-3"),
    ("whats wrong in the cluster", "health", "", "NodeNotReady"),
    ("why is web degraded", "why", "deployment apps/web", "web"),
    (
        "how many replicas does web have",
        "replicas",
        "apps/web",
        "replicas ready",
    ),
    ("describe node node-3", "describe", "node node-3", "node-3"),
    ("which node is down", "nodes", "", "node-3"),
];

const OOM: &[Row] = &[
    (
        "why is cache crashing",
        "why",
        "deployment apps/cache",
        "OOMKilled",
    ),
    (
        "why does cache keep getting OOMKilled",
        "why",
        "apps/cache",
        "OOMKilled",
    ),
    (
        "is cache running out of memory?",
        "why",
        "apps/cache",
        "OOMKilled",
    ),
    (
        "how much memory is cache allowed",
        "resources",
        "apps/cache",
        "128Mi",
    ),
    (
        "what are cache's memory limits",
        "resources",
        "apps/cache",
        "128Mi",
    ),
    ("memory usage of cache", "resources", "apps/cache", "128Mi"),
    ("how do I fix cache", "fix", "apps/cache", "set resources"),
    ("which pods restart the most", "restarts", "", "OOMKilled"),
    ("what's wrong", "health", "", "OOMKilled"),
    ("previous logs of cache", "logs", "apps/cache", "cache"),
];

const PVC: &[Row] = &[
    (
        "why is uploader pending",
        "why",
        "deployment apps/uploader",
        "ProvisioningFailed",
    ),
    (
        "why is the uploads pvc pending",
        "why",
        "persistentvolumeclaim apps/uploads",
        "fast-ssd",
    ),
    (
        "what's wrong with the uploads volume",
        "why",
        "apps/uploads",
        "fast-ssd",
    ),
    (
        "why is my volume not mounting",
        "health",
        "",
        "ProvisioningFailed",
    ),
    ("list pvcs", "list", "", "uploads"),
    ("list storage classes", "list", "", "StorageClasses"),
    (
        "describe pvc uploads",
        "describe",
        "persistentvolumeclaim apps/uploads",
        "uploads",
    ),
    ("events of pvc uploads", "events", "apps/uploads", "uploads"),
    ("what's wrong", "health", "", "ProvisioningFailed"),
    ("how do I fix uploader", "fix", "apps/uploader", "To fix"),
];

const READINESS: &[Row] = &[
    (
        "why is checkout not ready",
        "why",
        "deployment apps/checkout",
        "Readiness probe failed",
    ),
    (
        "why isn't checkout ready?",
        "why",
        "apps/checkout",
        "Unhealthy",
    ),
    (
        "checkout is up but gets no traffic, why",
        "why",
        "apps/checkout",
        "Unhealthy",
    ),
    (
        "why does the checkout service have no endpoints",
        "why",
        "apps/checkout",
        "checkout",
    ),
    ("whats wrong", "health", "", "Unhealthy"),
    ("events of checkout", "events", "apps/checkout", "Unhealthy"),
    ("logs of checkout", "logs", "apps/checkout", "checkout"),
    (
        "how many checkout replicas are ready",
        "replicas",
        "apps/checkout",
        "0/2",
    ),
    ("how do I fix checkout", "fix", "apps/checkout", "To fix"),
    (
        "describe svc checkout",
        "describe",
        "service apps/checkout",
        "checkout",
    ),
];

const SERVICE_SELECTOR: &[Row] = &[
    (
        "why does payments have no endpoints",
        "why",
        "apps/payments",
        "SelectorMismatch",
    ),
    (
        "why is the payments service broken",
        "why",
        "service apps/payments",
        "SelectorMismatch",
    ),
    (
        "why can't I reach payments",
        "why",
        "apps/payments",
        "SelectorMismatch",
    ),
    (
        "is payments healthy",
        "why",
        "apps/payments",
        "SelectorMismatch",
    ),
    ("whats wrong", "health", "", "SelectorMismatch"),
    ("list services", "list", "", "payments"),
    ("list endpoints", "list", "", "payments"),
    (
        "describe service payments",
        "describe",
        "service apps/payments",
        "payments",
    ),
    ("how do I fix payments", "fix", "apps/payments", "To fix"),
    (
        "how many payments pods are running",
        "replicas",
        "deployment apps/payments",
        "2/2",
    ),
];

const UNSCHED_RES: &[Row] = &[
    (
        "why is trainer pending",
        "why",
        "deployment ml/trainer",
        "Unschedulable",
    ),
    (
        "why won't trainer schedule",
        "why",
        "ml/trainer",
        "Insufficient",
    ),
    (
        "trainer stuck in Pending, why?",
        "why",
        "ml/trainer",
        "Unschedulable",
    ),
    (
        "how much memory does trainer request",
        "resources",
        "ml/trainer",
        "64Gi",
    ),
    ("what's wrong in ml", "health", "", "Unschedulable"),
    ("are the nodes big enough", "nodes", "", "node"),
    ("how do I fix trainer", "fix", "ml/trainer", "To fix"),
    (
        "events of trainer",
        "events",
        "ml/trainer",
        "FailedScheduling",
    ),
];

const UNSCHED_SEL: &[Row] = &[
    (
        "why is inference pending",
        "why",
        "deployment ml/inference",
        "Unschedulable",
    ),
    (
        "why isn't inference scheduled",
        "why",
        "ml/inference",
        "node",
    ),
    ("whats wrong", "health", "", "Unschedulable"),
    ("list nodes", "nodes", "", "node"),
    ("how do I fix inference", "fix", "ml/inference", "To fix"),
    (
        "describe inference",
        "describe",
        "deployment ml/inference",
        "inference",
    ),
    (
        "which image does inference run",
        "images",
        "ml/inference",
        "example/inference:2.3.0",
    ),
];

/// Phrasings full of words that are not names: none may be answered "nothing named".
const NO_NOISE: &[(&str, &str)] = &[
    ("demo", "why isn't anything working"),
    ("demo", "why won't my app start"),
    ("demo", "can the frontend reach the backend"),
    ("demo", "why is my volume not mounting"),
    ("demo", "why is the type of this pod wrong"),
    ("demo", "hi"),
    ("demo", "why is cpu so high"),
    ("demo", "isnt the backend ok"),
    ("demo", "what's going on across all namespaces"),
    ("demo", "why is the app slow today"),
    ("demo", "is the db down"),
    ("demo", "why are requests failing"),
    ("crashloop", "why does my container keep dying"),
    ("healthy", "is anything broken at all"),
    ("oom", "why is the thing out of memory"),
    ("node-not-ready", "why is one machine unhealthy"),
];

async fn check(tc: Arc<TestCluster>, row: Row) -> Result<(), String> {
    let (question, intent, target, fact) = row;
    let mut cmd = tc.kai();
    cmd.args(["--output", "json", question]);
    let out = run(cmd, None).await;
    let doc: Value = serde_json::from_str(&stdout(&out)).map_err(|e| {
        format!(
            "{question:?}: no JSON ({e}); stdout {} stderr {}",
            stdout(&out),
            stderr(&out)
        )
    })?;
    let answer = doc["answer"].as_str().unwrap_or_default();
    let got_intent = doc["route"]["intent"].as_str().unwrap_or_default();
    let got_target = doc["route"]["target"].as_str().unwrap_or_default();
    let mut errors = Vec::new();
    if got_intent != intent {
        errors.push(format!("intent {got_intent}, wanted {intent}"));
    }
    if !target.is_empty() && !got_target.contains(target) {
        errors.push(format!("target {got_target:?}, wanted {target:?}"));
    }
    if !answer.to_lowercase().contains(&fact.to_lowercase()) {
        errors.push(format!("answer lacks {fact:?}"));
    }
    if !fact.contains("nothing named") && answer.contains("nothing named") {
        errors.push("answer reports a missing name".into());
    }
    if errors.is_empty() {
        Ok(())
    } else {
        let first = answer.lines().next().unwrap_or_default();
        Err(format!(
            "{question:?}: {}; first line: {first}",
            errors.join("; ")
        ))
    }
}

async fn table(scenario: &str, rows: &[Row]) -> (usize, Vec<String>) {
    let tc = Arc::new(TestCluster::start(scenario).await);
    let mut failures = Vec::new();
    // A few at a time: fast, without starving the sandbox on a small machine.
    for chunk in rows.chunks(6) {
        let results = futures::future::join_all(chunk.iter().map(|r| check(tc.clone(), *r))).await;
        failures.extend(
            results
                .into_iter()
                .filter_map(Result::err)
                .map(|e| format!("[{scenario}] {e}")),
        );
    }
    (rows.len(), failures)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phrasings_route_to_the_right_answer() {
    let tables: &[(&str, &[Row])] = &[
        ("demo", DEMO),
        ("demo", ALERTS),
        ("crashloop", CRASHLOOP),
        ("failing-job", FAILING_JOB),
        ("healthy", HEALTHY),
        ("image-pull", IMAGE_PULL),
        ("missing-config", MISSING_CONFIG),
        ("more-failures", MORE_FAILURES),
        ("node-not-ready", NODE_NOT_READY),
        ("oom", OOM),
        ("pvc-no-storageclass", PVC),
        ("readiness", READINESS),
        ("service-selector", SERVICE_SELECTOR),
        ("unschedulable-resources", UNSCHED_RES),
        ("unschedulable-selector", UNSCHED_SEL),
    ];
    let mut total = 0;
    let mut failures = Vec::new();
    for (scenario, rows) in tables {
        let (n, f) = table(scenario, rows).await;
        total += n;
        failures.extend(f);
    }
    assert!(total >= 200, "only {total} phrasings");
    assert!(
        failures.is_empty(),
        "{} of {total} phrasings failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dash_a_widens_every_offline_answer() {
    let tc = TestCluster::start("healthy").await;
    for q in [
        "what changed recently",
        "which pods restart the most",
        "images",
    ] {
        let mut cmd = tc.kai();
        cmd.args(["-A", "--output", "json", q]);
        let out = run(cmd, None).await;
        let doc: Value = serde_json::from_str(&stdout(&out)).expect("JSON");
        assert_eq!(doc["route"]["scope"], "*", "{q}: {doc}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_that_are_not_names_are_never_reported_missing() {
    let mut failures = Vec::new();
    let mut scenarios: Vec<&str> = NO_NOISE.iter().map(|(s, _)| *s).collect();
    scenarios.dedup();
    for scenario in scenarios {
        let tc = Arc::new(TestCluster::start(scenario).await);
        for (_, q) in NO_NOISE.iter().filter(|(s, _)| *s == scenario) {
            let mut cmd = tc.kai();
            cmd.arg(q);
            let out = run(cmd, None).await;
            let o = stdout(&out);
            if o.contains("nothing named") || o.trim().is_empty() || out.status.code() != Some(0) {
                failures.push(format!(
                    "[{scenario}] {q:?}: {}",
                    o.lines().next().unwrap_or("")
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
