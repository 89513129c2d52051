//! Path hits: files and modules the query names.

use super::*;

/// Files whose path ends with `wanted` on whole segments, or whose path is a
/// suffix of `wanted` (an absolute path from another machine).
pub(super) fn files_matching_path(snapshot: &IndexSnapshot, wanted: &str) -> Vec<(u32, usize)> {
    let wanted = wanted.trim_start_matches('/');
    let wanted_segments: Vec<&str> = wanted.split('/').filter(|part| !part.is_empty()).collect();
    if wanted_segments.is_empty() {
        return Vec::new();
    }
    if let Some((file, _)) = snapshot.file(wanted) {
        return vec![(file, wanted_segments.len())];
    }
    let file_name = wanted_segments[wanted_segments.len() - 1];
    let mut out = Vec::new();
    for (index, entry) in snapshot.files().iter().enumerate() {
        let path = &entry.record.path;
        if !path.ends_with(file_name) {
            continue;
        }
        let segments: Vec<&str> = path.split('/').collect();
        let common = segments.iter().rev().zip(wanted_segments.iter().rev()).take_while(|(a, b)| a == b).count();
        if common >= 1 {
            out.push((index as u32, common));
        }
    }
    let best = out.iter().map(|(_, common)| *common).max().unwrap_or(0);
    out.retain(|(_, common)| *common == best);
    out
}

pub(super) fn path_hits(
    snapshot: &IndexSnapshot,
    analyzed: &AnalyzedQuery,
    accepts: &dyn Fn(u32) -> bool,
) -> Vec<(u32, f32)> {
    let mut scored: Vec<(u32, f32)> = Vec::new();
    for path in &analyzed.paths {
        let matches = files_matching_path(snapshot, path);
        let count = matches.len().max(1) as f32;
        for (file, common) in matches {
            scored.push((file, common as f32 / count));
        }
    }
    for module in &analyzed.modules {
        let base = module.replace('.', "/");
        for candidate in [
            format!("{base}.py"),
            format!("{base}/__init__.py"),
            format!("{base}.rs"),
            format!("{base}/mod.rs"),
            format!("{base}.go"),
            format!("{base}.java"),
            format!("{base}.ts"),
            format!("{base}.js"),
        ] {
            let matches = files_matching_path(snapshot, &candidate);
            // A dotted name is only a module mention when it matches on at least two segments.
            let wanted_segments = candidate.split('/').count();
            for (file, common) in matches {
                if common >= 2 || (wanted_segments == 1 && common == 1) {
                    scored.push((file, common as f32 * 0.8));
                }
            }
        }
    }
    scored.retain(|(file, _)| accepts(*file));
    // Stable: equally strong mentions keep the order the query gives them in.
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut seen = HashSet::new();
    scored.retain(|(file, _)| seen.insert(*file));
    scored
}
