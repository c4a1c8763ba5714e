//! Positions that an export keeps as WKB (CAVE's writer decodes only the Morton point to
//! `_x/_y/_z`; every other geometry column stays PostGIS's binary): reading a `POINT Z` and the
//! `cave_wkb_axis(geometry, axis)` SQL function that gives one axis as int32, truncated as the
//! writer's `astype(int32)` truncates.
//!
//! Accepted: ISO WKB (`POINT Z` is type 1001) and PostGIS's EWKB (type 1 with the Z flag
//! `0x80000000`, an SRID after the type when the flag `0x20000000` is set), either byte order.

use std::sync::Arc;

use arrow_array::{Array, ArrayRef, BinaryArray, BinaryViewArray, Int32Array, LargeBinaryArray};
use arrow_schema::DataType;
use datafusion::common::{DataFusionError, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The SQL name of the function.
pub const FUNCTION: &str = "cave_wkb_axis";

const Z_FLAG: u32 = 0x8000_0000;
const SRID_FLAG: u32 = 0x2000_0000;

/// The three coordinates of a WKB `POINT Z`, or what is wrong with the bytes.
pub fn point_z(wkb: &[u8]) -> Result<[f64; 3], String> {
    let little = match wkb.first() {
        Some(1) => true,
        Some(0) => false,
        Some(b) => return Err(format!("byte order {b} is neither 0 nor 1")),
        None => return Err("no bytes".into()),
    };
    let u32_at = |at: usize| -> Result<u32, String> {
        let b: [u8; 4] = wkb
            .get(at..at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| format!("{} bytes end before byte {}", wkb.len(), at + 4))?;
        Ok(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let kind = u32_at(1)?;
    let mut at = 5;
    let three_d = match kind {
        1001 => true,
        k if k & !(Z_FLAG | SRID_FLAG) == 1 => {
            if k & SRID_FLAG != 0 {
                at += 4;
            }
            k & Z_FLAG != 0
        }
        k => return Err(format!("geometry type {k} is not a point")),
    };
    if !three_d {
        return Err("the point has no z".into());
    }
    let end = at + 24;
    if wkb.len() != end {
        return Err(format!("a POINT Z of {end} bytes, not {}", wkb.len()));
    }
    let mut xyz = [0.0; 3];
    for (i, v) in xyz.iter_mut().enumerate() {
        let b: [u8; 8] = wkb[at + 8 * i..at + 8 * i + 8].try_into().expect("8 bytes");
        *v = if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        };
    }
    Ok(xyz)
}

/// ISO WKB of a `POINT Z`, little-endian: what the exporter writes for the points it does not
/// decode, as CAVE's writer leaves them.
pub fn encode_point_z(x: f64, y: f64, z: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(29);
    out.push(1);
    out.extend_from_slice(&1001u32.to_le_bytes());
    for v in [x, y, z] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// One axis of a WKB point as int32 (truncated toward zero), or the error naming the row.
fn axis_of(wkb: &[u8], axis: usize, row: usize) -> Result<i32, DataFusionError> {
    let v = point_z(wkb)
        .map_err(|e| DataFusionError::Execution(format!("{FUNCTION}: row {row}: {e}")))?[axis];
    if v.is_finite() && v > i32::MIN as f64 - 1.0 && v < i32::MAX as f64 + 1.0 {
        Ok(v as i32)
    } else {
        exec_err!("{FUNCTION}: row {row}: coordinate {v} does not fit an int32")
    }
}

/// The `cave_wkb_axis(geometry, axis)` function: `axis` 0, 1 or 2 for x, y, z.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct WkbAxis {
    signature: Signature,
}

impl Default for WkbAxis {
    fn default() -> Self {
        Self {
            signature: Signature::any(2, Volatility::Immutable),
        }
    }
}

/// The function, to register in a session (`ctx.register_udf(wkb::udf())`).
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(WkbAxis::default())
}

impl ScalarUDFImpl for WkbAxis {
    fn name(&self) -> &str {
        FUNCTION
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> datafusion::common::Result<DataType> {
        Ok(DataType::Int32)
    }
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::common::Result<ColumnarValue> {
        let axis = match &args.args[1] {
            ColumnarValue::Scalar(ScalarValue::Int64(Some(a))) if (0..3).contains(a) => *a as usize,
            ColumnarValue::Scalar(ScalarValue::Int32(Some(a))) if (0..3).contains(a) => *a as usize,
            other => return exec_err!("{FUNCTION}: the axis is 0, 1 or 2, not {other:?}"),
        };
        let array = args.args[0].to_array(args.number_rows)?;
        let values: Vec<Option<&[u8]>> =
            if let Some(b) = array.as_any().downcast_ref::<BinaryArray>() {
                b.iter().collect()
            } else if let Some(b) = array.as_any().downcast_ref::<LargeBinaryArray>() {
                b.iter().collect()
            } else if let Some(b) = array.as_any().downcast_ref::<BinaryViewArray>() {
                b.iter().collect()
            } else if array.data_type() == &DataType::Null {
                vec![None; array.len()]
            } else {
                return exec_err!("{FUNCTION}: a binary column, not {}", array.data_type());
            };
        let out = values
            .into_iter()
            .enumerate()
            .map(|(row, v)| v.map(|v| axis_of(v, axis, row)).transpose())
            .collect::<Result<Int32Array, _>>()?;
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ewkb(little: bool, srid: Option<u32>, xyz: [f64; 3]) -> Vec<u8> {
        let put32 = |v: u32| {
            if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            }
        };
        let mut out = vec![u8::from(little)];
        let kind = 1 | Z_FLAG | if srid.is_some() { SRID_FLAG } else { 0 };
        out.extend_from_slice(&put32(kind));
        if let Some(s) = srid {
            out.extend_from_slice(&put32(s));
        }
        for v in xyz {
            out.extend_from_slice(&if little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            });
        }
        out
    }

    #[test]
    fn points_in_every_form_read_the_same() {
        let xyz = [180_000.0, 240_512.0, 21_003.0];
        assert_eq!(point_z(&encode_point_z(xyz[0], xyz[1], xyz[2])), Ok(xyz));
        for little in [true, false] {
            for srid in [None, Some(4326)] {
                assert_eq!(
                    point_z(&ewkb(little, srid, xyz)),
                    Ok(xyz),
                    "{little} {srid:?}"
                );
            }
        }
    }

    #[test]
    fn bytes_that_are_no_point_z_are_errors() {
        let good = encode_point_z(1.0, 2.0, 3.0);
        assert!(point_z(&[]).unwrap_err().contains("no bytes"));
        assert!(point_z(&good[..20]).unwrap_err().contains("not 20"));
        assert!(
            point_z(&[&good[..], &[0]].concat())
                .unwrap_err()
                .contains("not 30")
        );
        let mut two_d = ewkb(true, None, [1.0, 2.0, 3.0]);
        two_d[4] = 0; // the Z flag's byte
        assert!(point_z(&two_d).unwrap_err().contains("no z"));
        let mut line = good.clone();
        line[1] = 2;
        assert!(point_z(&line).unwrap_err().contains("not a point"));
        assert!(point_z(&[7]).unwrap_err().contains("byte order 7"));
        assert!(
            axis_of(&encode_point_z(1e10, 0.0, 0.0), 0, 4)
                .unwrap_err()
                .to_string()
                .contains("row 4")
        );
        assert_eq!(axis_of(&encode_point_z(-3.7, 0.0, 0.0), 0, 0).unwrap(), -3);
    }
}
