//! 3-D positions that know the resolution they are expressed in.

use std::fmt;

/// Nanometres per voxel along x, y and z, e.g. `[4.0, 4.0, 40.0]` for minnie65's native voxels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolution(pub [f32; 3]);

impl Resolution {
    /// One nanometre per unit: positions in nm.
    pub const NM: Resolution = Resolution([1.0, 1.0, 1.0]);

    /// From nanometres per voxel as `f64` (the unit of table metadata).
    pub fn from_f64(nm_per_voxel: [f64; 3]) -> Self {
        Resolution(nm_per_voxel.map(|v| v as f32))
    }

    /// Nanometres per voxel as `f64`.
    pub fn to_f64(self) -> [f64; 3] {
        self.0.map(f64::from)
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [x, y, z] = self.0;
        write!(f, "{x}×{y}×{z} nm")
    }
}

/// A position column's value: three integer coordinates in units of `resolution` (the
/// table's voxel resolution, or the `desired_resolution` of the query).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// x, in units of `resolution.0[0]` nm.
    pub x: i32,
    /// y, in units of `resolution.0[1]` nm.
    pub y: i32,
    /// z, in units of `resolution.0[2]` nm.
    pub z: i32,
    /// What one unit of each coordinate is, in nm.
    pub resolution: Resolution,
}

impl Position {
    /// The coordinates as the server sent them.
    pub fn voxels(&self) -> [i32; 3] {
        [self.x, self.y, self.z]
    }

    /// The position in nanometres.
    pub fn nm(&self) -> [f64; 3] {
        let r = self.resolution.to_f64();
        [
            f64::from(self.x) * r[0],
            f64::from(self.y) * r[1],
            f64::from(self.z) * r[2],
        ]
    }

    /// The position in units of another resolution (not rounded).
    pub fn in_resolution(&self, target: Resolution) -> [f64; 3] {
        let nm = self.nm();
        let t = target.to_f64();
        [nm[0] / t[0], nm[1] / t[1], nm[2] / t[2]]
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, {}, {}) @ {}",
            self.x, self.y, self.z, self.resolution
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_between_resolutions() {
        let p = Position {
            x: 10,
            y: 20,
            z: 3,
            resolution: Resolution([4.0, 4.0, 40.0]),
        };
        assert_eq!(p.nm(), [40.0, 80.0, 120.0]);
        assert_eq!(
            p.in_resolution(Resolution([8.0, 8.0, 40.0])),
            [5.0, 10.0, 3.0]
        );
        assert_eq!(p.to_string(), "(10, 20, 3) @ 4×4×40 nm");
    }
}
