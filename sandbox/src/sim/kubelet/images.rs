//! Image references and pulls: how containerd names an image, and a pull that fails because
//! the scenario lists the image as missing (`ErrImagePull`, then `ImagePullBackOff`).

use jiff::Timestamp;

use super::context::{CRes, One, hex64};
use super::timeline::retries;
use super::{Ctr, Pending};
use crate::sim::timestamps::{plus, secs_between};

/// Seconds an `ErrImagePull` shows before the kubelet reports `ImagePullBackOff`.
const ERR_IMAGE_PULL_SECS: f64 = 5.0;

/// The status of a container whose image no registry has, with the pull events; `None` when
/// the image exists.
pub fn pull_failure(one: &One, ctr: &Ctr, earliest: Timestamp, evs: &mut Pending) -> Option<CRes> {
    let full = full_image(&one.image);
    if !one.cx.sim.missing_images.contains(&full) {
        return None;
    }
    let (image, now) = (&one.image, one.cx.now);
    let (count, last, next) = retries(earliest, now);
    let err = format!(
        "rpc error: code = NotFound desc = failed to pull and unpack image \"{full}\": failed to resolve reference \"{full}\": {full}: not found"
    );
    let pulling = format!("Pulling image \"{image}\"");
    evs.push((
        Some(one.ev("Pulling", pulling, false, count, earliest, last)),
        Some(next),
    ));
    let failed = format!("Failed to pull image \"{image}\": {err}");
    evs.push((
        Some(one.ev("Failed", failed, true, count, earliest, last)),
        None,
    ));
    let failed = "Error: ErrImagePull".to_string();
    evs.push((
        Some(one.ev("Failed", failed, true, count, earliest, last)),
        None,
    ));
    let in_err = secs_between(last, now) < ERR_IMAGE_PULL_SECS;
    if in_err {
        evs.push((None, Some(plus(last, ERR_IMAGE_PULL_SECS))));
    }
    let backoff_first = plus(earliest, ERR_IMAGE_PULL_SECS);
    if now >= backoff_first {
        let n = if in_err { count - 1 } else { count }.max(1);
        let last_bo = if in_err {
            plus(last, -ERR_IMAGE_PULL_SECS).max(backoff_first)
        } else {
            plus(last, ERR_IMAGE_PULL_SECS)
        };
        let backoff = format!("Back-off pulling image \"{image}\"");
        evs.push((
            Some(one.ev("BackOff", backoff, false, n, backoff_first, last_bo)),
            None,
        ));
        let failed = "Error: ImagePullBackOff".to_string();
        evs.push((
            Some(one.ev("Failed", failed, true, n, backoff_first, last_bo)),
            None,
        ));
    }
    let status = if in_err {
        one.waiting("ErrImagePull", Some(err), ctr)
    } else {
        let msg = format!("Back-off pulling image \"{image}\": ErrImagePull: {err}");
        one.waiting("ImagePullBackOff", Some(msg), ctr)
    };
    Some(one.not_started(status, earliest))
}

/// The `imageID` containerd reports for an image: its repository and a digest.
pub fn image_id(image: &str) -> String {
    let full = full_image(image);
    format!(
        "{}@sha256:{}",
        full.split(':').next().unwrap_or(&full),
        hex64(&full)
    )
}

/// Normalises an image reference as containerd reports it: `nginx` →
/// `docker.io/library/nginx:latest`.
pub fn full_image(image: &str) -> String {
    let (path, tagged) = match image.rsplit_once('/') {
        Some((_, last)) => (image, last.contains(':') || last.contains('@')),
        None => (image, image.contains(':') || image.contains('@')),
    };
    let with_tag = if tagged {
        path.to_string()
    } else {
        format!("{path}:latest")
    };
    let first = with_tag.split('/').next().unwrap_or("");
    let has_registry = with_tag.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost");
    if has_registry {
        with_tag
    } else if with_tag.contains('/') {
        format!("docker.io/{with_tag}")
    } else {
        format!("docker.io/library/{with_tag}")
    }
}
