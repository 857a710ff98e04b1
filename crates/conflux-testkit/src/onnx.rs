//! Builds small ONNX models in tests with the generated protobuf types.

use onnx_protobuf::{
    AttributeProto, GraphProto, Message, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, ValueInfoProto, attribute_proto::AttributeType,
    tensor_proto::DataLocation,
};

/// An attribute value.
#[derive(Debug, Clone)]
pub enum Attr {
    /// Float.
    F(f32),
    /// Integer.
    I(i64),
    /// String.
    S(&'static str),
    /// Tensor (for `Constant`).
    T(Vec<usize>, Vec<f32>),
    /// Integer list (`kernel_shape`, `pads`, …).
    Ints(Vec<i64>),
}

/// A model under construction: one input `x`, nodes in order, initializers.
#[derive(Debug, Default)]
pub struct OnnxBuilder {
    graph: GraphProto,
    opset: i64,
}

fn tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    let mut t = TensorProto::new();
    t.name = name.into();
    t.dims = dims.iter().map(|&d| d as i64).collect();
    t.data_type = 1;
    t.raw_data = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    t
}

impl OnnxBuilder {
    /// A graph with input `x` of width `input_dim`, at `opset`.
    pub fn new(input_dim: usize, opset: i64) -> Self {
        let mut g = GraphProto::new();
        g.name = "test".into();
        let mut vi = ValueInfoProto::new();
        vi.name = "x".into();
        let tt = vi.type_.mut_or_insert_default().mut_tensor_type();
        tt.elem_type = 1;
        let shape = tt.shape.mut_or_insert_default();
        let mut batch = onnx_protobuf::tensor_shape_proto::Dimension::new();
        batch.set_dim_param("batch".into());
        let mut width = onnx_protobuf::tensor_shape_proto::Dimension::new();
        width.set_dim_value(input_dim as i64);
        shape.dim = vec![batch, width];
        g.input.push(vi);
        OnnxBuilder { graph: g, opset }
    }

    /// A graph with input `x` of per-row shape `dims` (`None`: a symbolic dimension).
    pub fn shaped(dims: &[Option<usize>], opset: i64) -> Self {
        let mut b = OnnxBuilder::new(1, opset);
        let tt = b.graph.input[0]
            .type_
            .mut_or_insert_default()
            .mut_tensor_type();
        let shape = tt.shape.mut_or_insert_default();
        shape.dim.truncate(1);
        for d in dims {
            let mut dim = onnx_protobuf::tensor_shape_proto::Dimension::new();
            match d {
                Some(v) => dim.set_dim_value(*v as i64),
                None => dim.set_dim_param("h".into()),
            }
            shape.dim.push(dim);
        }
        b
    }

    /// Adds an initializer (float32, raw data).
    #[must_use]
    pub fn init(mut self, name: &str, dims: &[usize], data: &[f32]) -> Self {
        self.graph.initializer.push(tensor(name, dims, data));
        self
    }

    /// Adds an initializer whose bytes live in `file` (relative to the model), at `offset`.
    #[must_use]
    pub fn external_init(
        self,
        name: &str,
        dims: &[usize],
        file: &str,
        offset: usize,
        len: usize,
    ) -> Self {
        let (offset, len) = (offset.to_string(), len.to_string());
        self.external_entries(
            name,
            dims,
            &[("location", file), ("offset", &offset), ("length", &len)],
        )
    }

    /// Adds a float32 initializer with raw `dims` (any values, negative or huge included) and
    /// raw bytes (any length): for hostile-file tests.
    #[must_use]
    pub fn init_raw(mut self, name: &str, dims: &[i64], raw: Vec<u8>) -> Self {
        let mut t = TensorProto::new();
        t.name = name.into();
        t.dims = dims.to_vec();
        t.data_type = 1;
        t.raw_data = raw;
        self.graph.initializer.push(t);
        self
    }

    /// Adds a float32 initializer with external data given as raw key/value entries
    /// (`location`, `offset`, `length`, …): for hostile-file tests.
    #[must_use]
    pub fn external_entries(
        mut self,
        name: &str,
        dims: &[usize],
        entries: &[(&str, &str)],
    ) -> Self {
        let mut t = TensorProto::new();
        t.name = name.into();
        t.dims = dims.iter().map(|&d| d as i64).collect();
        t.data_type = 1;
        t.data_location = DataLocation::EXTERNAL.into();
        for (k, v) in entries {
            let mut e = StringStringEntryProto::new();
            e.key = (*k).into();
            e.value = (*v).into();
            t.external_data.push(e);
        }
        self.graph.initializer.push(t);
        self
    }

    /// Adds a node.
    #[must_use]
    pub fn node(
        mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        attrs: &[(&str, Attr)],
    ) -> Self {
        let mut n = NodeProto::new();
        n.op_type = op.into();
        n.name = format!("{}_{}", op.to_lowercase(), self.graph.node.len());
        n.input = inputs.iter().map(|s| (*s).into()).collect();
        n.output = outputs.iter().map(|s| (*s).into()).collect();
        for (name, a) in attrs {
            let mut p = AttributeProto::new();
            p.name = (*name).into();
            match a {
                Attr::F(f) => {
                    p.f = *f;
                    p.type_ = AttributeType::FLOAT.into();
                }
                Attr::I(i) => {
                    p.i = *i;
                    p.type_ = AttributeType::INT.into();
                }
                Attr::S(s) => {
                    p.s = s.as_bytes().to_vec();
                    p.type_ = AttributeType::STRING.into();
                }
                Attr::Ints(v) => {
                    p.ints.clone_from(v);
                    p.type_ = AttributeType::INTS.into();
                }
                Attr::T(dims, data) => {
                    p.t = protobuf::MessageField::some(tensor("", dims, data));
                    p.type_ = AttributeType::TENSOR.into();
                }
            }
            n.attribute.push(p);
        }
        self.graph.node.push(n);
        self
    }

    /// Serialises with graph output `output`.
    pub fn build(mut self, output: &str) -> Vec<u8> {
        let mut vo = ValueInfoProto::new();
        vo.name = output.into();
        self.graph.output.push(vo);
        let mut m = ModelProto::new();
        m.ir_version = 8;
        let mut op = OperatorSetIdProto::new();
        op.version = self.opset;
        m.opset_import.push(op);
        m.graph = protobuf::MessageField::some(self.graph);
        m.write_to_bytes().expect("model serialises")
    }
}
