//! Personalized PageRank over the file dependency graph.
//!
//! Personalized PageRank (Page et al. 1999; Haveliwala, "Topic-sensitive
//! PageRank", WWW 2002) ranks files by the stationary distribution of a random walk
//! that follows dependency edges and restarts at the query's seed files. It lifts
//! files that are central to what the query is about: the definitions that the
//! first-stage hits use, the modules they share. Aider's repo map applies the same
//! idea to pick which files to show a model.

use codectx_index::graph::FileGraph;

/// Probability of following an edge rather than restarting (0.85, as in PageRank).
pub const DAMPING: f32 = 0.85;
/// Power iterations; the L1 change after 20 is below 1e-3 on the graphs seen.
pub const ITERATIONS: usize = 20;

/// Personalized PageRank with restart distribution `seeds` (`(file, weight)`,
/// weights ≥ 0, normalized here). Returns one score per file (summing to 1), or an
/// empty vector when there is no seed weight. Mass at files without edges returns
/// to the seeds.
pub fn personalized_pagerank(graph: &FileGraph, seeds: &[(u32, f32)], damping: f32, iterations: usize) -> Vec<f32> {
    let nodes = graph.node_count();
    let mut restart = vec![0.0f32; nodes];
    for &(file, weight) in seeds {
        if (file as usize) < nodes && weight > 0.0 {
            restart[file as usize] += weight;
        }
    }
    let total: f32 = restart.iter().sum();
    if total <= 0.0 {
        return Vec::new();
    }
    restart.iter_mut().for_each(|weight| *weight /= total);
    let mut rank = restart.clone();
    let mut next = vec![0.0f32; nodes];
    for _ in 0..iterations {
        next.iter_mut().for_each(|value| *value = 0.0);
        let mut dangling = 0.0f32;
        for (node, &mass) in rank.iter().enumerate() {
            if mass == 0.0 {
                continue;
            }
            let mut moved = false;
            for (target, probability) in graph.walk_steps(node as u32) {
                next[target as usize] += damping * mass * probability;
                moved = true;
            }
            if !moved {
                dangling += damping * mass;
            }
        }
        let teleport = 1.0 - damping + dangling;
        for (value, &weight) in next.iter_mut().zip(&restart) {
            *value += teleport * weight;
        }
        std::mem::swap(&mut rank, &mut next);
    }
    rank
}
