//! The cell types of the sample universe and how each table of §6 labels them.

use super::rng::{Rng, chance, unit};

/// The true type of a nucleus: one of the 16 metamodel types, or a false-positive detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CellType {
    /// Layer 2/3 pyramidal.
    P23,
    /// Layer 4 pyramidal.
    P4,
    /// Layer 5 intratelencephalic.
    P5It,
    /// Layer 5 extratelencephalic (pyramidal tract).
    P5Et,
    /// Layer 5 near-projecting.
    P5Np,
    /// Layer 6 intratelencephalic.
    P6It,
    /// Layer 6 corticothalamic.
    P6Ct,
    /// Basket cell.
    Bc,
    /// Bipolar cell.
    Bpc,
    /// Martinotti cell.
    Mc,
    /// Neurogliaform cell.
    Ngc,
    /// Astrocyte.
    Astrocyte,
    /// Oligodendrocyte.
    Oligo,
    /// Microglia.
    Microglia,
    /// Oligodendrocyte precursor.
    Opc,
    /// Pericyte.
    Pericyte,
    /// A false-positive nucleus detection (no metamodel call).
    Junk,
}

/// The 16 metamodel types, in the order of the published count table.
pub const META_TYPES: [CellType; 16] = [
    CellType::P23,
    CellType::P4,
    CellType::P5It,
    CellType::P5Et,
    CellType::P5Np,
    CellType::P6It,
    CellType::P6Ct,
    CellType::Bc,
    CellType::Bpc,
    CellType::Mc,
    CellType::Ngc,
    CellType::Astrocyte,
    CellType::Oligo,
    CellType::Microglia,
    CellType::Opc,
    CellType::Pericyte,
];

/// Coarse class of a cell type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// Excitatory neuron.
    Excitatory,
    /// Inhibitory neuron.
    Inhibitory,
    /// Glia and vascular cells.
    NonNeuron,
    /// False positive.
    Junk,
}

impl CellType {
    /// Its coarse class.
    pub fn class(self) -> Class {
        use CellType::*;
        match self {
            P23 | P4 | P5It | P5Et | P5Np | P6It | P6Ct => Class::Excitatory,
            Bc | Bpc | Mc | Ngc => Class::Inhibitory,
            Astrocyte | Oligo | Microglia | Opc | Pericyte => Class::NonNeuron,
            Junk => Class::Junk,
        }
    }

    /// Whether it is a neuron.
    pub fn is_neuron(self) -> bool {
        matches!(self.class(), Class::Excitatory | Class::Inhibitory)
    }

    /// The metamodel `cell_type` label.
    pub fn label(self) -> &'static str {
        use CellType::*;
        match self {
            P23 => "23P",
            P4 => "4P",
            P5It => "5P-IT",
            P5Et => "5P-ET",
            P5Np => "5P-NP",
            P6It => "6P-IT",
            P6Ct => "6P-CT",
            Bc => "BC",
            Bpc => "BPC",
            Mc => "MC",
            Ngc => "NGC",
            Astrocyte => "astrocyte",
            Oligo => "oligo",
            Microglia => "microglia",
            Opc => "OPC",
            Pericyte => "pericyte",
            Junk => "unknown",
        }
    }

    /// The metamodel `classification_system` label.
    pub fn class_label(self) -> &'static str {
        match self.class() {
            Class::Excitatory => "excitatory_neuron",
            Class::Inhibitory => "inhibitory_neuron",
            Class::NonNeuron | Class::Junk => "nonneuron",
        }
    }

    /// Rows of `aibs_metamodel_celltypes_v661` on roots that occur once at v1300 (§6.2).
    pub fn single_count(self) -> usize {
        use CellType::*;
        match self {
            P23 => 19_642,
            P4 => 14_720,
            P6It => 11_637,
            P5It => 7_889,
            Astrocyte => 7_108,
            Oligo => 6_900,
            P6Ct => 6_755,
            Bc => 3_309,
            Mc => 2_433,
            Microglia => 2_394,
            P5Et => 2_157,
            Bpc => 1_484,
            Opc => 1_451,
            P5Np => 957,
            Pericyte => 846,
            Ngc => 621,
            Junk => 0,
        }
    }

    /// Rows on shared roots (3,711 in all): BC fixed by the published 3,365 BC rows, the rest
    /// proportional to the single counts (largest remainder).
    pub fn shared_count(self) -> usize {
        use CellType::*;
        match self {
            P23 => 825,
            P4 => 618,
            P5It => 331,
            P5Et => 91,
            P5Np => 40,
            P6It => 489,
            P6Ct => 284,
            Bc => 56,
            Bpc => 62,
            Mc => 102,
            Ngc => 26,
            Astrocyte => 299,
            Oligo => 290,
            Microglia => 101,
            Opc => 61,
            Pericyte => 36,
            Junk => 0,
        }
    }

    /// Proofread cells of this type at v1300 (≈ 80 % excitatory, §7.3; guess).
    pub fn proofread_count(self) -> usize {
        use CellType::*;
        match self {
            P23 => 620,
            P4 => 420,
            P5It => 300,
            P5Et => 60,
            P5Np => 25,
            P6It => 50,
            P6Ct => 25,
            Bc => 180,
            Mc => 110,
            Bpc => 50,
            Ngc => 25,
            _ => 0,
        }
    }

    /// Cells of this type in the 100 µm V1 column (1,357 neurons, 542 glia; §6.6 guesses).
    pub fn column_count(self) -> usize {
        use CellType::*;
        match self {
            P23 => 366,
            P4 => 271,
            P5It => 109,
            P5Et => 41,
            P5Np => 27,
            P6It => 190,
            P6Ct => 190,
            Bc => 61,
            Mc => 47,
            Bpc => 34,
            Ngc => 21,
            Astrocyte => 206,
            Oligo => 200,
            Microglia => 70,
            Opc => 44,
            Pericyte => 22,
            Junk => 0,
        }
    }

    /// Depth below pia (µm) where its somata sit (§7.1).
    pub fn depth_range(self) -> (f64, f64) {
        use CellType::*;
        match self {
            P23 => (60.0, 226.0),
            P4 => (240.0, 375.0),
            P5It => (350.0, 520.0),
            P5Et => (400.0, 560.0),
            P5Np => (420.0, 580.0),
            P6It => (500.0, 720.0),
            P6Ct => (520.0, 740.0),
            Bc => (40.0, 740.0),
            Bpc => (60.0, 500.0),
            Mc => (80.0, 720.0),
            Ngc => (5.0, 400.0),
            Astrocyte | Oligo | Microglia | Opc | Pericyte | Junk => (0.0, 880.0),
        }
    }

    /// Median and log-sd of the nucleus volume in µm³ (§7.3).
    pub fn volume_model(self) -> (f64, f64) {
        match self.class() {
            Class::Excitatory => (280.0, 0.25),
            Class::Inhibitory if self == CellType::Bc => (330.0, 0.3),
            Class::Inhibitory => (270.0, 0.28),
            Class::NonNeuron if self == CellType::Astrocyte => (160.0, 0.35),
            Class::NonNeuron => (100.0, 0.45),
            Class::Junk => (42.0, 0.45),
        }
    }

    /// An m-type (`aibs_metamodel_mtype`) for a neuron of this type at `depth` µm.
    pub fn mtype(self, depth: f64, rng: &mut Rng) -> &'static str {
        use CellType::*;
        let pick = |rng: &mut Rng, options: &[&'static str]| {
            options[((unit(rng) * options.len() as f64) as usize).min(options.len() - 1)]
        };
        match self {
            P23 => {
                const L23: [&str; 5] = ["L2a", "L2b", "L3a", "L3b", "L3c"];
                let f = ((depth - 60.0) / 170.0).clamp(0.0, 0.999);
                L23[(f * 5.0) as usize]
            }
            P4 => pick(rng, &["L4a", "L4b", "L4c"]),
            P5It => pick(rng, &["L5a", "L5b"]),
            P5Et => "L5ET",
            P5Np => "L5NP",
            P6It => pick(rng, &["L6a", "L6b", "L6c"]),
            P6Ct if chance(rng, 0.15) => "L6wm",
            P6Ct => "L6CT",
            Bc if chance(rng, 0.2) => pick(rng, &["ITC", "STC"]),
            Bc => "PTC",
            Mc if chance(rng, 0.15) => "STC",
            Mc => "DTC",
            Bpc if chance(rng, 0.3) => "DTC",
            Bpc => "ITC",
            Ngc => pick(rng, &["DTC", "STC"]),
            _ => "ITC",
        }
    }

    /// The `baylor_gnn_cell_type_fine` label (5P-ET is `5P-PT` there).
    pub fn baylor_fine(self) -> &'static str {
        use CellType::*;
        match self {
            P5Et => "5P-PT",
            P23 | P4 | P5It | P5Np | P6It | P6Ct | Bc | Bpc | Mc | Ngc => self.label(),
            _ => "BC",
        }
    }

    /// The `cg_cell_type_calls` label of a postsynaptic cell at `depth` µm.
    pub fn cg_label(self, depth: f64) -> &'static str {
        use CellType::*;
        match self {
            _ if self.class() == Class::Excitatory && depth < 75.0 => "1P",
            P23 => "23P",
            P4 => "4P",
            P5It => "5P_IT",
            P5Et => "5P_PT",
            P5Np => "5P_NP",
            P6It | P6Ct => "6P",
            _ => "INH",
        }
    }
}

/// A neuron type for `u` in `[0, 1)`, following the single-root metamodel neuron mix.
pub fn neuron_type_for(u: f64) -> CellType {
    let neurons: Vec<CellType> = META_TYPES.into_iter().filter(|t| t.is_neuron()).collect();
    let total: usize = neurons.iter().map(|t| t.single_count()).sum();
    let mut acc = 0.0;
    for t in &neurons {
        acc += t.single_count() as f64 / total as f64;
        if u < acc {
            return *t;
        }
    }
    CellType::P23
}

/// A glia type for `u` in `[0, 1)`, following the metamodel glia mix.
pub fn glia_type_for(u: f64) -> CellType {
    let glia: Vec<CellType> = META_TYPES
        .into_iter()
        .filter(|t| t.class() == Class::NonNeuron)
        .collect();
    let total: usize = glia.iter().map(|t| t.single_count()).sum();
    let mut acc = 0.0;
    for t in &glia {
        acc += t.single_count() as f64 / total as f64;
        if u < acc {
            return *t;
        }
    }
    CellType::Astrocyte
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_sums() {
        let single: usize = META_TYPES.iter().map(|t| t.single_count()).sum();
        let shared: usize = META_TYPES.iter().map(|t| t.shared_count()).sum();
        assert_eq!(single, 90_303);
        assert_eq!(shared, 3_711);
        let proofread: usize = META_TYPES.iter().map(|t| t.proofread_count()).sum();
        assert_eq!(proofread, 1_865);
        let column_neurons: usize = META_TYPES
            .iter()
            .filter(|t| t.is_neuron())
            .map(|t| t.column_count())
            .sum();
        assert_eq!(column_neurons, 1_357);
        let column_glia: usize = META_TYPES
            .iter()
            .filter(|t| !t.is_neuron())
            .map(|t| t.column_count())
            .sum();
        assert_eq!(column_glia, 542);
        for t in META_TYPES {
            let needed = t.proofread_count() + t.column_count() + 120;
            assert!(t.single_count() > needed, "{t:?}");
        }
    }
}
