/*!
`reelframe bench`'s machinery: measure reelframe against the ffmpeg baselines of
`scripts/baselines.sh` on the same inputs and cores, and report the result.

```text
 methods        measure                 report                       plot
 reelframe   →  spawn children,      →  seconds min/median/max,   →  bars of videos/s (SVG)
 modes and      wait4 each: wall,       rates, CPU, RSS, stages,
 ffmpeg         CPU, peak RSS           speed-ups; text or JSON
 anchors
```

Every method is measured the same way: its processes are children of bench, and their CPU and
peak RSS come from `wait4`'s rusage. The `reelframe bench` command (`src/commands/bench.rs`)
drives this.
*/

mod date;
pub mod export;
pub mod measure;
pub mod methods;
pub mod plot;
pub mod report;
