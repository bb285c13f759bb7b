//! What this machine is: CPU counts (logical, physical, usable by this process) and memory.
//! Read once per run and stored with every result, so a result file says where it was measured.

use serde::{Deserialize, Serialize};

/// The machine a result was measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// The machine's host name, when known (empty in results written before it was recorded):
    /// a result opened elsewhere says where it was measured.
    #[serde(default)]
    pub host_name: String,
    /// Logical CPUs online (hardware threads).
    pub logical_cpus: usize,
    /// Physical cores, as the OS reports them (equal to `logical_cpus` when unknown).
    pub physical_cpus: usize,
    /// CPUs this process may really use: the affinity mask and the cgroup CPU quota taken
    /// into account (Rust's `available_parallelism`).
    pub usable_cpus: usize,
    /// Total physical memory.
    pub total_memory_bytes: u64,
    /// Memory available to new allocations when the run started.
    pub available_memory_bytes: u64,
    /// CPU model name, when known.
    pub cpu_brand: String,
    /// Operating system and kernel, when known.
    pub os: String,
    /// pooltune's version.
    pub pooltune_version: String,
}

impl MachineInfo {
    /// Reads the machine's description from the OS.
    pub fn detect() -> MachineInfo {
        let logical_cpus = online_cpus();
        let mut cpu_brand = String::new();
        if let Ok(mut system) = sysinfo::System::new() {
            system.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
            if let Some(cpu) = system.cpus().first() {
                cpu_brand = cpu.brand().trim().to_owned();
            }
        }
        let physical_cpus = sysinfo::System::physical_core_count()
            .unwrap_or(logical_cpus)
            .clamp(1, logical_cpus);
        let os = format!(
            "{} {}",
            sysinfo::System::long_os_version().unwrap_or_default(),
            sysinfo::System::kernel_version().unwrap_or_default()
        )
        .trim()
        .to_owned();
        MachineInfo {
            host_name: sysinfo::System::host_name().unwrap_or_default(),
            logical_cpus,
            physical_cpus,
            usable_cpus: usable_cpus(),
            total_memory_bytes: crate::platform::total_memory_bytes().unwrap_or(0),
            available_memory_bytes: available_memory_bytes(),
            cpu_brand,
            os,
            pooltune_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// CPUs this process may use (affinity and cgroup quota), at least 1.
pub fn usable_cpus() -> usize {
    crate::platform::usable_cpus()
}

/// Logical CPUs online, at least 1.
pub fn online_cpus() -> usize {
    crate::platform::online_cpus()
}

/// Memory available to new allocations now (MemAvailable), falling back to total memory.
pub fn available_memory_bytes() -> u64 {
    crate::platform::available_memory_bytes()
        .or_else(crate::platform::total_memory_bytes)
        .unwrap_or(u64::MAX)
}

/// This process's address-space limit (RLIMIT_AS, `ulimit -v`) in bytes; None when unlimited.
pub fn address_space_limit_bytes() -> Option<u64> {
    crate::platform::address_space_limit_bytes()
}

/// Address space this process uses now (VmSize), in bytes.
fn address_space_used_bytes() -> Option<u64> {
    crate::platform::address_space_used_bytes()
}

/// Bytes this process can still allocate: the memory available, or what the address-space
/// limit leaves, whichever is less.
pub fn allocatable_bytes() -> u64 {
    let available = available_memory_bytes();
    match address_space_limit_bytes() {
        Some(limit) => available.min(limit.saturating_sub(address_space_used_bytes().unwrap_or(0))),
        None => available,
    }
}

/// What limits this process's memory, in words for an error: "the address-space limit
/// (ulimit -v) is 2048 MiB, 310 MiB of it in use", or "3912 MiB of memory is available".
pub fn memory_limit_text() -> String {
    const MIB: u64 = 1 << 20;
    match address_space_limit_bytes() {
        Some(limit) => format!(
            "the address-space limit (ulimit -v) is {} MiB, {} MiB of it in use",
            limit / MIB,
            address_space_used_bytes().unwrap_or(0) / MIB
        ),
        None => format!(
            "{} MiB of memory is available",
            available_memory_bytes() / MIB
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_the_os() {
        let info = MachineInfo::detect();
        assert_eq!(info.logical_cpus, online_cpus());
        assert!(info.physical_cpus >= 1 && info.physical_cpus <= info.logical_cpus);
        assert!(info.usable_cpus >= 1 && info.usable_cpus <= info.logical_cpus);
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
        let total_kib: u64 = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(info.total_memory_bytes, total_kib * 1024);
    }
}
