//! Models of several named, coloured parts (one per segment): 3MF for 3D
//! printing, binary glTF (GLB) for teaching and the web, PLY with vertex
//! colours. Containers come from well-kept crates (`zip`, `gltf`); the
//! 3MF model XML and the PLY records are written here.

use std::io::{self, Cursor, Seek, Write};

use glam::Vec3;
use serde::{Deserialize, Serialize};

use crate::Mesh;
use crate::writer::{put_decimal, put_f32s, put_integer, write_records};

/// One part of a model.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    /// Its name (a segment's).
    pub name: &'a str,
    /// Its colour (sRGB).
    pub color: [u8; 3],
    /// Its surface, mm in patient (LPS) space.
    pub mesh: &'a Mesh,
}

/// A file format of several coloured parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartsFormat {
    /// 3MF: one object per part, its colour, millimetres.
    ThreeMf,
    /// Binary glTF: one named mesh node per part with its colour, metres,
    /// Y up (patient superior), Z toward the viewer (anterior).
    Glb,
    /// Binary PLY, every vertex in its part's colour.
    ColoredPly,
}

impl PartsFormat {
    /// File extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::ThreeMf => "3mf",
            Self::Glb => "glb",
            Self::ColoredPly => "ply",
        }
    }

    /// MIME type for a download.
    pub fn mime(self) -> &'static str {
        match self {
            Self::ThreeMf => "model/3mf",
            Self::Glb => "model/gltf-binary",
            Self::ColoredPly => "application/octet-stream",
        }
    }

    /// The whole file.
    pub fn to_bytes(self, parts: &[Part<'_>]) -> io::Result<Vec<u8>> {
        let mut out = Cursor::new(Vec::new());
        self.write(parts, &mut out)?;
        Ok(out.into_inner())
    }

    /// Writes the file to `out` as it is made: a 3MF's XML is deflated
    /// and a PLY written as they are formatted, so neither is held whole;
    /// a GLB's binary chunk is (its header states its length first).
    pub fn write<W: Write + Seek>(self, parts: &[Part<'_>], mut out: W) -> io::Result<()> {
        match self {
            Self::ThreeMf => three_mf(parts, out).map(drop),
            Self::Glb => out.write_all(&glb(parts)?),
            Self::ColoredPly => colored_ply(parts, out),
        }
    }
}

/// Text safe inside an XML attribute.
fn xml_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>
"#;

const RELATIONSHIPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Target="/3D/3dmodel.model" Id="rel0" Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>
"#;

/// A 3MF package: the model XML (one base material per part, one object
/// per part with its material, one build item each) in a zip.
fn three_mf<W: Write + Seek>(parts: &[Part<'_>], out: W) -> io::Result<W> {
    let mut zip = zip::ZipWriter::new(out);
    // Level 1: a model of a million triangles is tens of MB of XML, and
    // the user waits for it; higher levels save little on numbers.
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    // Past 4 GB of XML (tens of millions of triangles) the model's entry
    // needs ZIP64, which must be asked for before it is written: asked
    // for on a generous estimate of its size only, since some readers of
    // small 3MF files do not expect it.
    let (vertices, triangles) = parts.iter().fold((0u64, 0u64), |(v, t), part| {
        (
            v + part.mesh.positions.len() as u64,
            t + part.mesh.triangles.len() as u64,
        )
    });
    let model_options =
        deflated.large_file(vertices * 100 + triangles * 80 > u64::from(u32::MAX) / 2);
    for (name, bytes) in [
        ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
        ("_rels/.rels", RELATIONSHIPS.as_bytes()),
    ] {
        zip.start_file(name, deflated).map_err(io::Error::other)?;
        zip.write_all(bytes)?;
    }
    // The model's XML is deflated as it is formatted, never held whole.
    zip.start_file("3D/3dmodel.model", model_options)
        .map_err(io::Error::other)?;
    let model = &mut zip;
    model.write_all(
        br#"<?xml version="1.0" encoding="UTF-8"?>
<model unit="millimeter" xml:lang="en-US" xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
<metadata name="Application">insitu</metadata>
<resources>
<basematerials id="1">
"#,
    )?;
    for part in parts {
        let [r, g, b] = part.color;
        model.write_all(
            format!(
                "<base name=\"{}\" displaycolor=\"#{r:02X}{g:02X}{b:02X}\"/>\n",
                xml_escaped(part.name)
            )
            .as_bytes(),
        )?;
    }
    model.write_all(b"</basematerials>\n")?;
    for (n, part) in parts.iter().enumerate() {
        model.write_all(
            format!(
                "<object id=\"{}\" type=\"model\" name=\"{}\" pid=\"1\" pindex=\"{n}\">\n<mesh>\n<vertices>\n",
                n + 2,
                xml_escaped(part.name)
            )
            .as_bytes(),
        )?;
        let mesh = part.mesh;
        write_records(model, mesh.positions.len(), |range, buffer| {
            let mut scratch = ryu::Buffer::new();
            for p in &mesh.positions[range] {
                buffer.extend_from_slice(b"<vertex");
                for (axis, v) in [&b" x=\""[..], b" y=\"", b" z=\""].iter().zip(p.to_array()) {
                    buffer.extend_from_slice(axis);
                    put_decimal(buffer, v, &mut scratch);
                    buffer.push(b'"');
                }
                buffer.extend_from_slice(b"/>\n");
            }
        })?;
        model.write_all(b"</vertices>\n<triangles>\n")?;
        write_records(model, mesh.triangles.len(), |range, buffer| {
            let mut scratch = itoa::Buffer::new();
            for t in &mesh.triangles[range] {
                buffer.extend_from_slice(b"<triangle");
                for (name, v) in [&b" v1=\""[..], b" v2=\"", b" v3=\""].iter().zip(t) {
                    buffer.extend_from_slice(name);
                    put_integer(buffer, u64::from(*v), &mut scratch);
                    buffer.push(b'"');
                }
                buffer.extend_from_slice(b"/>\n");
            }
        })?;
        model.write_all(b"</triangles>\n</mesh>\n</object>\n")?;
    }
    model.write_all(b"</resources>\n<build>\n")?;
    for n in 0..parts.len() {
        model.write_all(format!("<item objectid=\"{}\"/>\n", n + 2).as_bytes())?;
    }
    model.write_all(b"</build>\n</model>\n")?;
    zip.finish().map_err(io::Error::other)
}

/// LPS millimetres → glTF metres: X = left, Y = superior (up), Z =
/// anterior (toward a viewer facing the patient); a rotation.
fn gltf_position(p: Vec3) -> [f32; 3] {
    [p.x * 1e-3, p.z * 1e-3, -p.y * 1e-3]
}

fn gltf_direction(n: Vec3) -> [f32; 3] {
    [n.x, n.z, -n.y]
}

/// sRGB byte → linear factor (glTF colours are linear).
fn linear(c: u8) -> f32 {
    let c = f32::from(c) / 255.0;
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// A GLB: one buffer holding every part's positions, normals and indices;
/// a material, a mesh and a named node per part.
fn glb(parts: &[Part<'_>]) -> io::Result<Vec<u8>> {
    use gltf_json as json;
    use json::validation::Checked::Valid;
    use json::validation::USize64;

    let mut root = json::Root::default();
    root.asset.generator = Some("insitu".into());
    let mut bin: Vec<u8> = Vec::new();
    let mut nodes = Vec::new();
    for part in parts {
        let mesh = part.mesh;
        let vertices = mesh.positions.len();
        let (mut min, mut max) = ([f32::MAX; 3], [f32::MIN; 3]);
        let positions_at = bin.len();
        for &p in &mesh.positions {
            let q = gltf_position(p);
            for a in 0..3 {
                min[a] = min[a].min(q[a]);
                max[a] = max[a].max(q[a]);
            }
            put_f32s(&mut bin, &q);
        }
        let normals_at = bin.len();
        let with_normals = mesh.normals.len() == vertices;
        if with_normals {
            for &n in &mesh.normals {
                put_f32s(&mut bin, &gltf_direction(n));
            }
        }
        let indices_at = bin.len();
        for t in &mesh.triangles {
            for v in t {
                bin.extend_from_slice(&v.to_le_bytes());
            }
        }
        let view = |root: &mut json::Root, at: usize, len: usize, target| {
            root.push(json::buffer::View {
                buffer: json::Index::new(0),
                byte_length: USize64::from(len),
                byte_offset: Some(USize64::from(at)),
                byte_stride: None,
                extensions: None,
                extras: Default::default(),
                name: None,
                target: Some(Valid(target)),
            })
        };
        let accessor = |root: &mut json::Root,
                        view,
                        count: usize,
                        kind,
                        component,
                        bounds: Option<([f32; 3], [f32; 3])>| {
            root.push(json::Accessor {
                buffer_view: Some(view),
                byte_offset: None,
                count: USize64::from(count),
                component_type: Valid(json::accessor::GenericComponentType(component)),
                extensions: None,
                extras: Default::default(),
                type_: Valid(kind),
                min: bounds.map(|(lo, _)| json::Value::from(lo.to_vec())),
                max: bounds.map(|(_, hi)| json::Value::from(hi.to_vec())),
                name: None,
                normalized: false,
                sparse: None,
            })
        };
        let position_view = view(
            &mut root,
            positions_at,
            normals_at - positions_at,
            json::buffer::Target::ArrayBuffer,
        );
        let positions = accessor(
            &mut root,
            position_view,
            vertices,
            json::accessor::Type::Vec3,
            json::accessor::ComponentType::F32,
            Some((min, max)),
        );
        let mut attributes = std::collections::BTreeMap::new();
        attributes.insert(Valid(json::mesh::Semantic::Positions), positions);
        if with_normals {
            let normal_view = view(
                &mut root,
                normals_at,
                indices_at - normals_at,
                json::buffer::Target::ArrayBuffer,
            );
            let normals = accessor(
                &mut root,
                normal_view,
                vertices,
                json::accessor::Type::Vec3,
                json::accessor::ComponentType::F32,
                None,
            );
            attributes.insert(Valid(json::mesh::Semantic::Normals), normals);
        }
        let index_view = view(
            &mut root,
            indices_at,
            bin.len() - indices_at,
            json::buffer::Target::ElementArrayBuffer,
        );
        let indices = accessor(
            &mut root,
            index_view,
            mesh.triangles.len() * 3,
            json::accessor::Type::Scalar,
            json::accessor::ComponentType::U32,
            None,
        );
        let [r, g, b] = part.color.map(linear);
        let material = root.push(json::Material {
            name: Some(part.name.to_owned()),
            pbr_metallic_roughness: json::material::PbrMetallicRoughness {
                base_color_factor: json::material::PbrBaseColorFactor([r, g, b, 1.0]),
                metallic_factor: json::material::StrengthFactor(0.0),
                roughness_factor: json::material::StrengthFactor(0.7),
                ..Default::default()
            },
            ..Default::default()
        });
        let primitive = json::mesh::Primitive {
            attributes,
            extensions: None,
            extras: Default::default(),
            indices: Some(indices),
            material: Some(material),
            mode: Valid(json::mesh::Mode::Triangles),
            targets: None,
        };
        let mesh_index = root.push(json::Mesh {
            extensions: None,
            extras: Default::default(),
            name: Some(part.name.to_owned()),
            primitives: vec![primitive],
            weights: None,
        });
        nodes.push(root.push(json::Node {
            mesh: Some(mesh_index),
            name: Some(part.name.to_owned()),
            ..Default::default()
        }));
    }
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    root.push(json::Buffer {
        byte_length: USize64::from(bin.len()),
        extensions: None,
        extras: Default::default(),
        name: None,
        uri: None,
    });
    let scene = root.push(json::Scene {
        extensions: None,
        extras: Default::default(),
        name: Some("insitu".into()),
        nodes,
    });
    root.scene = Some(scene);
    let mut json_bytes = json::serialize::to_vec(&root).map_err(io::Error::other)?;
    while !json_bytes.len().is_multiple_of(4) {
        json_bytes.push(b' ');
    }
    let length = 12 + 8 + json_bytes.len() + 8 + bin.len();
    let glb = gltf::binary::Glb {
        header: gltf::binary::Header {
            magic: *b"glTF",
            version: 2,
            length: u32::try_from(length)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "over 4 GB"))?,
        },
        json: std::borrow::Cow::Owned(json_bytes),
        bin: Some(std::borrow::Cow::Owned(bin)),
    };
    glb.to_vec().map_err(io::Error::other)
}

/// Binary PLY of every part, each vertex in its part's colour (indices
/// offset so parts stay apart).
fn colored_ply<W: Write>(parts: &[Part<'_>], mut out: W) -> io::Result<()> {
    let vertices: usize = parts.iter().map(|p| p.mesh.positions.len()).sum();
    let faces: usize = parts.iter().map(|p| p.mesh.triangles.len()).sum();
    write!(
        out,
        "ply\nformat binary_little_endian 1.0\ncomment insitu parts, millimetres (DICOM LPS)\n"
    )?;
    for part in parts {
        writeln!(out, "comment part {}", part.name.replace(['\n', '\r'], " "))?;
    }
    writeln!(out, "element vertex {vertices}")?;
    for axis in ["x", "y", "z"] {
        writeln!(out, "property float {axis}")?;
    }
    for c in ["red", "green", "blue"] {
        writeln!(out, "property uchar {c}")?;
    }
    writeln!(out, "element face {faces}")?;
    writeln!(out, "property list uchar int vertex_indices")?;
    writeln!(out, "end_header")?;
    for part in parts {
        write_records(&mut out, part.mesh.positions.len(), |range, buffer| {
            for p in &part.mesh.positions[range] {
                put_f32s(buffer, &p.to_array());
                buffer.extend_from_slice(&part.color);
            }
        })?;
    }
    let mut base = 0u32;
    for part in parts {
        write_records(&mut out, part.mesh.triangles.len(), |range, buffer| {
            for t in &part.mesh.triangles[range] {
                buffer.push(3);
                for &v in t {
                    buffer.extend_from_slice(&((v + base) as i32).to_le_bytes());
                }
            }
        })?;
        base += part.mesh.positions.len() as u32;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cube_at(x: f32) -> Mesh {
        let mut cube = Mesh::unit_cube();
        for p in &mut cube.positions {
            p.x += x;
        }
        crate::cleanup::recompute_normals(&mut cube);
        cube
    }

    #[test]
    fn a_glb_reads_back_with_its_parts_names_and_colours() {
        let (a, b) = (cube_at(0.0), cube_at(5.0));
        let parts = [
            Part {
                name: "L1",
                color: [220, 120, 40],
                mesh: &a,
            },
            Part {
                name: "pelvis & <sacrum>",
                color: [255, 255, 255],
                mesh: &b,
            },
        ];
        let bytes = PartsFormat::Glb.to_bytes(&parts).unwrap();
        let gltf = gltf::Gltf::from_slice(&bytes).unwrap();
        let names: Vec<_> = gltf
            .nodes()
            .filter_map(|n| n.name().map(str::to_owned))
            .collect();
        assert_eq!(names, ["L1", "pelvis & <sacrum>"]);
        let white = gltf
            .materials()
            .nth(1)
            .unwrap()
            .pbr_metallic_roughness()
            .base_color_factor();
        assert_eq!(white, [1.0, 1.0, 1.0, 1.0]);
        let mesh = gltf.meshes().next().unwrap();
        let primitive = mesh.primitives().next().unwrap();
        assert_eq!(primitive.indices().unwrap().count(), 36);
        // Metres, Y up: the second cube sits 5 mm to the left (X).
        let bounds = gltf
            .meshes()
            .nth(1)
            .unwrap()
            .primitives()
            .next()
            .unwrap()
            .bounding_box();
        assert!((bounds.min[0] - 0.005).abs() < 1e-6 && (bounds.max[1] - 0.001).abs() < 1e-6);
    }

    #[test]
    fn a_3mf_holds_one_coloured_object_per_part() {
        let (a, b) = (cube_at(0.0), cube_at(5.0));
        let parts = [
            Part {
                name: "mandible",
                color: [222, 198, 136],
                mesh: &a,
            },
            Part {
                name: "teeth \"upper\"",
                color: [255, 250, 220],
                mesh: &b,
            },
        ];
        let bytes = PartsFormat::ThreeMf.to_bytes(&parts).unwrap();
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut model = String::new();
        io::Read::read_to_string(&mut zip.by_name("3D/3dmodel.model").unwrap(), &mut model)
            .unwrap();
        assert_eq!(model.matches("<object ").count(), 2);
        assert_eq!(model.matches("<triangle ").count(), 24);
        assert!(model.contains("displaycolor=\"#DEC688\""));
        assert!(model.contains("name=\"teeth &quot;upper&quot;\""));
        assert!(zip.by_name("[Content_Types].xml").is_ok() && zip.by_name("_rels/.rels").is_ok());
    }

    #[test]
    fn a_coloured_ply_keeps_its_parts_apart() {
        let (a, b) = (cube_at(0.0), cube_at(5.0));
        let parts = [
            Part {
                name: "a",
                color: [1, 2, 3],
                mesh: &a,
            },
            Part {
                name: "b",
                color: [4, 5, 6],
                mesh: &b,
            },
        ];
        let bytes = PartsFormat::ColoredPly.to_bytes(&parts).unwrap();
        let end = bytes
            .windows(11)
            .position(|w| w == b"end_header\n")
            .unwrap()
            + 11;
        let header = String::from_utf8_lossy(&bytes[..end]);
        assert!(header.contains("element vertex 16\n") && header.contains("element face 24\n"));
        assert_eq!(bytes.len() - end, 16 * 15 + 24 * 13);
        // The last face indexes the second cube's vertices.
        let last = &bytes[bytes.len() - 12..];
        let v = i32::from_le_bytes(last[..4].try_into().unwrap());
        assert!(v >= 8);
    }
}
