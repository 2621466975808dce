//! Which file a surface is written as: the one dispatch over formats, used
//! by the CLI (by file extension) and the web app (by the button pressed).

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::{Mesh, PartsFormat, obj, ply, stl};

/// A mesh file format we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeshFormat {
    /// Binary STL: what printers, slicers and dental labs take.
    Stl,
    /// ASCII STL, for tools that only read text.
    StlAscii,
    /// Wavefront OBJ with normals.
    Obj,
    /// Binary little-endian PLY with normals.
    Ply,
}

/// A file name whose extension is not a mesh format we write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mesh format \".{0}\": use .stl, .obj, .ply, .3mf or .glb")]
pub struct UnknownFormat(pub String);

impl MeshFormat {
    /// The formats the app offers, in button order.
    pub const OFFERED: [MeshFormat; 3] = [MeshFormat::Stl, MeshFormat::Obj, MeshFormat::Ply];

    /// File extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Stl | Self::StlAscii => "stl",
            Self::Obj => "obj",
            Self::Ply => "ply",
        }
    }

    /// MIME type for a download.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Stl | Self::StlAscii => "model/stl",
            Self::Obj => "model/obj",
            Self::Ply => "application/octet-stream",
        }
    }

    /// The format of a file name's extension (case-insensitive); `ascii`
    /// picks text STL.
    pub fn from_extension(extension: &str, ascii: bool) -> Result<Self, UnknownFormat> {
        match extension.to_ascii_lowercase().as_str() {
            "stl" if ascii => Ok(Self::StlAscii),
            "stl" => Ok(Self::Stl),
            "obj" => Ok(Self::Obj),
            "ply" => Ok(Self::Ply),
            other => Err(UnknownFormat(other.to_owned())),
        }
    }

    /// Writes `mesh` in this format.
    pub fn write<W: Write>(self, mesh: &Mesh, out: W) -> io::Result<()> {
        match self {
            Self::Stl => stl::write_binary(mesh, out),
            Self::StlAscii => stl::write_ascii(mesh, out),
            Self::Obj => obj::write(mesh, out),
            Self::Ply => ply::write(mesh, out),
        }
    }

    /// The whole file in memory (the browser's download).
    pub fn to_bytes(self, mesh: &Mesh) -> io::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.write(mesh, &mut bytes)?;
        Ok(bytes)
    }
}

/// What a model file holds: one surface, or several coloured parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// One surface, no colour: STL, OBJ, PLY.
    Single(MeshFormat),
    /// Named, coloured parts: 3MF, GLB, PLY with vertex colours.
    Parts(PartsFormat),
}

impl ModelFormat {
    /// The format of a file name's extension for a model of one surface
    /// (`parts == false`: `.ply` is plain) or of coloured parts (`.ply`
    /// has vertex colours; `.stl`/`.obj` hold no colour and stay single).
    pub fn from_extension(
        extension: &str,
        ascii: bool,
        parts: bool,
    ) -> Result<Self, UnknownFormat> {
        match extension.to_ascii_lowercase().as_str() {
            "3mf" => Ok(Self::Parts(PartsFormat::ThreeMf)),
            "glb" => Ok(Self::Parts(PartsFormat::Glb)),
            "ply" if parts => Ok(Self::Parts(PartsFormat::ColoredPly)),
            _ => MeshFormat::from_extension(extension, ascii).map(Self::Single),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_writes_what_its_reader_expects() {
        let mut cube = Mesh::unit_cube();
        crate::cleanup::recompute_normals(&mut cube);
        let stl = MeshFormat::Stl.to_bytes(&cube).unwrap();
        assert_eq!(stl::binary_triangle_count(&stl), Some(12));
        let ascii = String::from_utf8(MeshFormat::StlAscii.to_bytes(&cube).unwrap()).unwrap();
        assert!(ascii.starts_with("solid insitu"));
        let obj = String::from_utf8(MeshFormat::Obj.to_bytes(&cube).unwrap()).unwrap();
        assert_eq!(obj.lines().filter(|l| l.starts_with("f ")).count(), 12);
        let ply = MeshFormat::Ply.to_bytes(&cube).unwrap();
        assert!(ply.starts_with(b"ply\nformat binary_little_endian 1.0\n"));
    }

    #[test]
    fn extensions_choose_the_format() {
        assert_eq!(
            MeshFormat::from_extension("STL", false),
            Ok(MeshFormat::Stl)
        );
        assert_eq!(
            MeshFormat::from_extension("stl", true),
            Ok(MeshFormat::StlAscii)
        );
        assert_eq!(
            MeshFormat::from_extension("ply", false),
            Ok(MeshFormat::Ply)
        );
        assert_eq!(
            MeshFormat::from_extension("3mf", false),
            Err(UnknownFormat("3mf".into()))
        );
        for format in MeshFormat::OFFERED {
            assert_eq!(
                MeshFormat::from_extension(format.extension(), false),
                Ok(format)
            );
        }
    }

    #[test]
    fn extensions_pick_single_or_coloured_formats() {
        assert_eq!(
            ModelFormat::from_extension("3MF", false, false),
            Ok(ModelFormat::Parts(PartsFormat::ThreeMf))
        );
        assert_eq!(
            ModelFormat::from_extension("ply", false, true),
            Ok(ModelFormat::Parts(PartsFormat::ColoredPly))
        );
        assert_eq!(
            ModelFormat::from_extension("ply", false, false),
            Ok(ModelFormat::Single(MeshFormat::Ply))
        );
        assert_eq!(
            ModelFormat::from_extension("stl", true, true),
            Ok(ModelFormat::Single(MeshFormat::StlAscii))
        );
        assert!(ModelFormat::from_extension("vtk", false, false).is_err());
    }
}
