//===- ONNXImporter.cpp - ONNX models into the onnx dialect ---------------===//
//
// One pass over the protobuf: every graph becomes a block (the main graph the body of
// `func.func @main`, subgraphs regions of their node), every initializer and Constant node
// an `onnx.constant` over a dense resource, every other node an `onnx.node`. Values are
// looked up by name through a chain of scopes, one per graph, as ONNX's scoping rules say.
//
//===----------------------------------------------------------------------===//

#include "moec/Importer/ONNXImporter.h"

#include "moec/Dialect/ONNX/DataTypes.h"
#include "moec/Dialect/ONNX/ONNX.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <onnx/onnx_pb.h>
#include <onnx/defs/schema.h>
#include <onnx/shape_inference/implementation.h>

#include <climits>
#include <csignal>
#include <limits>
#include <memory>
#include <queue>
#include <tuple>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir;
using namespace moec;
using moec::onnx::GraphAttr;

namespace {

using ElementType = moec::onnx::DataType;

/// Whether elements of `element` are strings (kept as dense string elements).
bool isString(const ElementType &element) { return isa<moec::onnx::StringType>(element.type); }

/// The element type, type and element count of a TensorProto.
struct TensorShape {
  ElementType element;
  RankedTensorType type;
  uint64_t count;
};

/// The values and types visible in one graph; subgraphs see their enclosing graphs' too.
struct Scope {
  const Scope *parent = nullptr;
  llvm::StringMap<Value> values;
  llvm::StringMap<const ::onnx::TypeProto *> types;

  Value lookupValue(StringRef name) const {
    for (const Scope *scope = this; scope; scope = scope->parent)
      if (Value value = scope->values.lookup(name))
        return value;
    return {};
  }
  const ::onnx::TypeProto *lookupType(StringRef name) const {
    for (const Scope *scope = this; scope; scope = scope->parent)
      if (const ::onnx::TypeProto *type = scope->types.lookup(name))
        return type;
    return nullptr;
  }
};

using NodeList = google::protobuf::RepeatedPtrField<::onnx::NodeProto>;

/// A memory-mapped external data file, shared by every tensor stored in it and kept alive
/// by the resource blobs that point into it.
using MappedFile = std::shared_ptr<llvm::sys::fs::mapped_file_region>;

class Importer {
public:
  Importer(MLIRContext &context, StringRef displayName, StringRef externalDataDir)
      : context(context), builder(&context), externalDataDir(externalDataDir.str()),
        fileLoc(FileLineColLoc::get(&context, displayName, 0, 0)) {}

  /// Imports `model`, first filling in missing types with ONNX's shape inference when
  /// `inferShapes` is set (which is why the model is not const).
  OwningOpRef<ModuleOp> importModel(::onnx::ModelProto &model, bool inferShapes);

private:
  /// Describes a node in diagnostics: "node 'name' (OpType)", or its index when unnamed.
  std::string describeNode(const ::onnx::NodeProto &node, int index) const;
  Location nodeLoc(const ::onnx::NodeProto &node, int index);

  /// Runs shape inference on `model`; returns why it could not, or an empty string.
  std::string inferMissingShapes(::onnx::ModelProto &model);
  /// Checks that initializer `name`, of type `type`, agrees with the type the graph
  /// declares for it (as a graph input, output or value_info), if any. Unless the
  /// initializer is a graph input's default, a declared shape that differs from the stored
  /// one only in size-1 dims also agrees: onnxruntime keeps the stored shape, and
  /// transformers' exporter declares [1] initializers as scalars.
  LogicalResult checkDeclaredType(StringRef name, Type type, const Scope &scope, Location loc,
                                  StringRef what, bool isInputDefault);
  LogicalResult importGraph(const ::onnx::GraphProto &graph, Scope &scope, Block &block,
                            bool isMain);
  void declareTypes(const ::onnx::GraphProto &graph, Scope &scope);
  FailureOr<SmallVector<int>> sortNodes(const NodeList &nodes);
  LogicalResult bindInputs(ArrayRef<StringRef> names, Block &block, Scope &scope,
                           StringRef what);
  /// Imports `nodes` in a topological order and returns the values named `outputNames`.
  FailureOr<SmallVector<Value>> importNodes(const NodeList &nodes,
                                            ArrayRef<StringRef> outputNames, Scope &scope,
                                            StringRef what);
  /// Imports a model-local function as a private func.func named "DOMAIN.NAME".
  LogicalResult importFunction(const ::onnx::FunctionProto &function, SymbolTable &symbols);
  DictionaryAttr getOpsetImports(
      const google::protobuf::RepeatedPtrField<::onnx::OperatorSetIdProto> &opsets);
  LogicalResult importNode(const ::onnx::NodeProto &node, int index, Scope &scope);
  LogicalResult importSubgraph(const ::onnx::GraphProto &graph, Region &region,
                               const Scope &parent, Location loc);
  FailureOr<Attribute> importAttribute(const ::onnx::AttributeProto &attribute,
                                       Location loc, StringRef context,
                                       SmallVectorImpl<const ::onnx::GraphProto *> &graphs);
  /// The value of a Constant node as a tensor, or null if the node is not a Constant with
  /// one of the value attributes moec imports as a constant.
  FailureOr<ElementsAttr> importConstantNode(const ::onnx::NodeProto &node, Location loc,
                                             StringRef context);

  FailureOr<Type> importType(const ::onnx::TypeProto &type, Location loc, StringRef what);
  FailureOr<Type> importValueType(StringRef name, const Scope &scope, Location loc);
  /// dim_param names of a tensor type, or null when it has none.
  ArrayAttr getDimParams(const ::onnx::TypeProto &type);
  DictionaryAttr getValueAttrs(StringRef name, const ::onnx::TypeProto *type,
                               Attribute initializer = {});

  FailureOr<TensorShape> getTensorShape(const ::onnx::TensorProto &tensor, Location loc,
                                        StringRef what);
  /// The data of a numeric tensor in ONNX's raw layout, wherever the tensor keeps it.
  FailureOr<AsmResourceBlob> readTensorData(const ::onnx::TensorProto &tensor,
                                            const TensorShape &shape, Location loc,
                                            StringRef what);
  FailureOr<ElementsAttr> importTensor(const ::onnx::TensorProto &tensor, Location loc,
                                       StringRef what);
  FailureOr<ElementsAttr> importSparseTensor(const ::onnx::SparseTensorProto &sparse,
                                             Location loc, StringRef what);
  FailureOr<AsmResourceBlob> copyTypedData(const ::onnx::TensorProto &tensor,
                                           ElementType element, uint64_t count,
                                           Location loc, StringRef what);
  FailureOr<AsmResourceBlob> mapExternalData(const ::onnx::TensorProto &tensor,
                                             uint64_t bytes, unsigned align, Location loc,
                                             StringRef what);
  FailureOr<MappedFile> mapFile(StringRef location, Location loc, StringRef what);

  MLIRContext &context;
  OpBuilder builder;
  std::string externalDataDir;
  Location fileLoc;
  llvm::StringMap<MappedFile> mappedFiles;
  /// Initializers of graph inputs by input name.
  llvm::StringMap<Attribute> inputDefaults;
};

} // namespace

//===----------------------------------------------------------------------===//
// Model and graphs
//===----------------------------------------------------------------------===//

/// Whether shape inference failed because an inferred type differs from a declared one
/// (libonnx's messages from merging types, which name the node).
static bool contradictsDeclaredTypes(StringRef inferenceProblem) {
  return inferenceProblem.contains("Inferred shape and existing shape differ") ||
         inferenceProblem.contains("Inferred elem type differs from existing elem type");
}

OwningOpRef<ModuleOp> Importer::importModel(::onnx::ModelProto &model, bool inferShapes) {
  if (!model.has_graph()) {
    emitError(fileLoc) << "the model has no graph";
    return {};
  }
  const ::onnx::GraphProto &graph = model.graph();
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);

  (*module)->setAttr("onnx.opset_imports", getOpsetImports(model.opset_import()));
  if (model.metadata_props_size()) {
    NamedAttrList metadata;
    for (const ::onnx::StringStringEntryProto &entry : model.metadata_props())
      if (!entry.key().empty())
        metadata.set(entry.key(), builder.getStringAttr(entry.value()));
    (*module)->setAttr("onnx.metadata", metadata.getDictionary(&context));
  }
  (*module)->setAttr("onnx.ir_version", builder.getI64IntegerAttr(model.ir_version()));
  if (!model.producer_name().empty()) {
    std::string producer = model.producer_name();
    if (!model.producer_version().empty())
      producer += " " + model.producer_version();
    (*module)->setAttr("onnx.producer", builder.getStringAttr(producer));
  }

  // The dim_param names of outputs as the model declares them, not as inference names them.
  google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto> declaredOutputs = graph.output();
  // Why inference did not run is worth a warning only for a model that imports: for a bad
  // one, the error says what is wrong.
  std::string inferenceProblem = inferShapes ? inferMissingShapes(model) : "";

  Scope scope;
  declareTypes(graph, scope);
  SmallVector<Type> inputTypes;
  for (const ::onnx::ValueInfoProto &input : graph.input()) {
    FailureOr<Type> type = importValueType(input.name(), scope, fileLoc);
    if (failed(type))
      return {};
    inputTypes.push_back(*type);
  }

  builder.setInsertionPointToEnd(module->getBody());
  auto func = func::FuncOp::create(builder, fileLoc, "main",
                                   builder.getFunctionType(inputTypes, {}));
  if (!graph.name().empty())
    func->setAttr("onnx.graph_name", builder.getStringAttr(graph.name()));
  Block *body = func.addEntryBlock();
  if (failed(importGraph(graph, scope, *body, /*isMain=*/true)))
    return {};

  // Arguments and results keep their ONNX names and dim_param names; an input that also
  // has an initializer (IR version < 4) keeps it as its default value.
  SmallVector<Attribute> inputAttrs;
  for (const ::onnx::ValueInfoProto &input : graph.input())
    inputAttrs.push_back(getValueAttrs(input.name(), scope.lookupType(input.name()),
                                       inputDefaults.lookup(input.name())));
  SmallVector<Attribute> outputAttrs;
  for (const ::onnx::ValueInfoProto &output : declaredOutputs)
    outputAttrs.push_back(getValueAttrs(output.name(), &output.type()));
  auto returnOp = cast<func::ReturnOp>(body->getTerminator());
  func.setFunctionType(
      builder.getFunctionType(inputTypes, returnOp.getOperandTypes()));
  func.setAllArgAttrs(inputAttrs);
  func.setAllResultAttrs(outputAttrs);

  SymbolTable symbols(*module);
  builder.setInsertionPointToEnd(module->getBody());
  for (const ::onnx::FunctionProto &function : model.functions())
    if (failed(importFunction(function, symbols)))
      return {};

  if (failed(verify(*module)))
    return {};
  // A declared type that contradicts what a node computes is a broken model (onnxruntime
  // refuses it too); importing it as given would fail later with a message about IR.
  if (contradictsDeclaredTypes(inferenceProblem)) {
    emitError(fileLoc) << "a declared type contradicts what the model computes: "
                       << StringRef(inferenceProblem).split(": ").second;
    return {};
  }
  if (!inferenceProblem.empty())
    emitWarning(fileLoc) << inferenceProblem;
  return module;
}

/// The opset of each domain, "" (the default domain) spelled out as "ai.onnx".
DictionaryAttr Importer::getOpsetImports(
    const google::protobuf::RepeatedPtrField<::onnx::OperatorSetIdProto> &opsets) {
  NamedAttrList versions;
  for (const ::onnx::OperatorSetIdProto &opset : opsets)
    versions.set(opset.domain().empty() ? "ai.onnx" : opset.domain(),
                 builder.getI64IntegerAttr(opset.version()));
  return versions.getDictionary(&context);
}

/// Adds to `domains` the domain of every node of `graph` and of its subgraphs.
static void collectDomains(const ::onnx::GraphProto &graph, llvm::StringSet<> &domains) {
  for (const ::onnx::NodeProto &node : graph.node()) {
    domains.insert(node.domain());
    for (const ::onnx::AttributeProto &attribute : node.attribute()) {
      if (attribute.has_g())
        collectDomains(attribute.g(), domains);
      for (const ::onnx::GraphProto &subgraph : attribute.graphs())
        collectDomains(subgraph, domains);
    }
  }
}

/// Drops from an inferred graph everything but its types: its value_info, its outputs, and
/// the subgraphs (by attribute name) of its nodes, in node order.
static void keepOnlyTypes(::onnx::GraphProto &graph) {
  graph.clear_initializer();
  graph.clear_sparse_initializer();
  for (::onnx::NodeProto &node : *graph.mutable_node()) {
    auto *attributes = node.mutable_attribute();
    attributes->erase(std::remove_if(attributes->begin(), attributes->end(),
                                     [](const ::onnx::AttributeProto &attribute) {
                                       return !attribute.has_g() && !attribute.graphs_size();
                                     }),
                      attributes->end());
    for (::onnx::AttributeProto &attribute : *attributes) {
      if (attribute.has_g())
        keepOnlyTypes(*attribute.mutable_g());
      for (::onnx::GraphProto &subgraph : *attribute.mutable_graphs())
        keepOnlyTypes(subgraph);
    }
  }
}

/// Copies the types of `inferred` (made by keepOnlyTypes from a copy of `graph`) into
/// `graph`.
static void mergeInferredTypes(::onnx::GraphProto &graph, const ::onnx::GraphProto &inferred) {
  *graph.mutable_value_info() = inferred.value_info();
  *graph.mutable_output() = inferred.output();
  int numNodes = std::min(graph.node_size(), inferred.node_size());
  for (int i = 0; i < numNodes; ++i) {
    for (::onnx::AttributeProto &attribute : *graph.mutable_node(i)->mutable_attribute()) {
      const auto &inferredAttributes = inferred.node(i).attribute();
      auto match = llvm::find_if(inferredAttributes, [&](const auto &candidate) {
        return candidate.name() == attribute.name();
      });
      if (match == inferredAttributes.end())
        continue;
      if (attribute.has_g() && match->has_g())
        mergeInferredTypes(*attribute.mutable_g(), match->g());
      int numGraphs = std::min(attribute.graphs_size(), match->graphs_size());
      for (int k = 0; k < numGraphs; ++k)
        mergeInferredTypes(*attribute.mutable_graphs(k), match->graphs(k));
    }
  }
}

/// Writes all of `data` to `fd`; false on an error.
static bool writeAll(int fd, StringRef data) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0 && errno == EINTR)
      continue;
    if (written <= 0)
      return false;
    data = data.drop_front(written);
  }
  return true;
}

/// Fills in missing value types with ONNX's shape inference. It is best effort: a model it
/// cannot infer still imports, with the types it states.
///
/// libonnx's inference functions trust that nodes match their schemas and can crash on
/// malformed models, so inference runs in a forked child that sends back only the types;
/// a crash there costs the inferred types, never the import.
std::string Importer::inferMissingShapes(::onnx::ModelProto &model) {
  // The library's schemas stop at its newest opset; on a newer model they would infer the
  // older forms of changed ops (Reduce*'s axes input, Split's num_outputs, ...), or refuse
  // the model. moec's own inference (moec-infer-types) types such models alone.
  const auto &versions = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto known = versions.find(::onnx::ONNX_DOMAIN);
  for (const ::onnx::OperatorSetIdProto &opset : model.opset_import())
    if ((opset.domain().empty() || opset.domain() == "ai.onnx") && known != versions.end() &&
        opset.version() > known->second.second)
      return "";

  // Inference gives up on the whole model at a domain without an opset_import entry, which
  // onnxruntime's contrib ops often lack; with one, their nodes are merely skipped. The
  // entries are added to the child's copy only.
  llvm::StringSet<> domains;
  collectDomains(model.graph(), domains);
  for (const ::onnx::OperatorSetIdProto &opset : model.opset_import())
    domains.erase(opset.domain());

  int pipeFds[2];
  if (::pipe(pipeFds) != 0)
    return "shape inference skipped: cannot create a pipe";
  pid_t child = ::fork();
  if (child == 0) {
    // The child: plain signal handling (no crash reports) and no output of its own.
    for (int signal : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
      ::signal(signal, SIG_DFL);
    int devNull = ::open("/dev/null", O_WRONLY);
    ::dup2(devNull, STDOUT_FILENO);
    ::dup2(devNull, STDERR_FILENO);
    ::close(pipeFds[0]);
    for (const auto &domain : domains) {
      ::onnx::OperatorSetIdProto *opset = model.add_opset_import();
      opset->set_domain(domain.getKey().str());
      opset->set_version(1);
    }
    std::string reply;
    try {
      // Data propagation follows shape computations (Shape, Gather, Concat, ...) into
      // Reshape: torch exports `x.reshape(-1, hidden)` so, and without it the result, and
      // all that uses it, would have no rank.
      ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(),
                                           ::onnx::ShapeInferenceOptions(
                                               /*check_type_val=*/false,
                                               /*strict_mode_val=*/0,
                                               /*data_prop_val=*/true));
      keepOnlyTypes(*model.mutable_graph());
      reply = "T" + model.graph().SerializeAsString();
    } catch (const std::exception &error) {
      reply = "E" + StringRef(error.what()).split('\n').first.str();
    }
    ::_exit(writeAll(pipeFds[1], reply) ? 0 : 1);
  }
  ::close(pipeFds[1]);
  std::string reply;
  char buffer[1 << 16];
  for (ssize_t got; child > 0 && (got = ::read(pipeFds[0], buffer, sizeof(buffer))) != 0;) {
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      break;
    reply.append(buffer, got);
  }
  ::close(pipeFds[0]);
  int status = 0;
  while (child > 0 && ::waitpid(child, &status, 0) < 0 && errno == EINTR)
    ;

  if (child < 0)
    return "shape inference skipped: cannot start a process";
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || reply.empty())
    return "shape inference crashed (libonnx), importing the types as given";
  if (reply[0] == 'E')
    return "shape inference failed, importing the types as given: " + reply.substr(1);
  ::onnx::GraphProto inferred;
  if (!inferred.ParseFromArray(reply.data() + 1, static_cast<int>(reply.size() - 1)))
    return "shape inference sent back an unreadable graph";
  mergeInferredTypes(*model.mutable_graph(), inferred);
  return "";
}

void Importer::declareTypes(const ::onnx::GraphProto &graph, Scope &scope) {
  // The first type given wins: an input's declaration is its argument's type, and a
  // declared output's type wins over value_info's. Empty types (shape inference writes
  // them for outputs that are inputs) give nothing.
  for (const auto *list : {&graph.input(), &graph.output(), &graph.value_info()})
    for (const ::onnx::ValueInfoProto &info : *list)
      if (info.type().value_case() != ::onnx::TypeProto::VALUE_NOT_SET)
        scope.types.try_emplace(info.name(), &info.type());
}

LogicalResult Importer::importGraph(const ::onnx::GraphProto &graph, Scope &scope,
                                    Block &block, bool isMain) {
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&block);
  std::string graphWhat = isMain ? "graph" : "subgraph '" + graph.name() + "'";

  SmallVector<StringRef> inputNames;
  for (const ::onnx::ValueInfoProto &input : graph.input())
    inputNames.push_back(input.name());
  if (failed(bindInputs(inputNames, block, scope, graphWhat)))
    return failure();

  // Sparse initializers are named by their values tensor.
  SmallVector<std::pair<const ::onnx::TensorProto *, const ::onnx::SparseTensorProto *>>
      initializers;
  for (const ::onnx::TensorProto &initializer : graph.initializer())
    initializers.emplace_back(&initializer, nullptr);
  for (const ::onnx::SparseTensorProto &initializer : graph.sparse_initializer())
    initializers.emplace_back(&initializer.values(), &initializer);
  llvm::StringSet<> initializerNames;
  for (auto [initializer, sparse] : initializers) {
    std::string what = "initializer '" + initializer->name() + "'";
    Location loc = NameLoc::get(builder.getStringAttr(initializer->name()), fileLoc);
    if (initializer->name().empty())
      return emitError(fileLoc) << graphWhat << ": an initializer has no name";
    if (!initializerNames.insert(initializer->name()).second)
      return emitError(loc) << what << " is defined twice";
    FailureOr<ElementsAttr> value = sparse ? importSparseTensor(*sparse, loc, what)
                                           : importTensor(*initializer, loc, what);
    if (failed(value) ||
        failed(checkDeclaredType(initializer->name(), value->getType(), scope, loc, what,
                                 /*isInputDefault=*/scope.values.contains(initializer->name()))))
      return failure();
    // An initializer named like a graph input (IR version < 4) is that input's default;
    // the input stays an argument, as onnxruntime lets callers override it.
    if (scope.values.contains(initializer->name())) {
      inputDefaults[initializer->name()] = *value;
      continue;
    }
    auto constant = moec::onnx::ConstantOp::create(builder, loc, value->getType(),
                                                   initializer->name(), *value);
    scope.values[initializer->name()] = constant.getResult();
  }

  SmallVector<StringRef> outputNames;
  for (const ::onnx::ValueInfoProto &output : graph.output())
    outputNames.push_back(output.name());
  FailureOr<SmallVector<Value>> results = importNodes(graph.node(), outputNames, scope, graphWhat);
  if (failed(results))
    return failure();
  builder.setInsertionPointToEnd(&block);
  if (isMain)
    func::ReturnOp::create(builder, fileLoc, *results);
  else
    moec::onnx::YieldOp::create(builder, fileLoc, *results);
  return success();
}

/// `type`'s dims other than the size-1 ones, or nothing when it has no static shape.
static std::optional<SmallVector<int64_t>> getNonUnitDims(Type type) {
  auto shaped = dyn_cast<RankedTensorType>(type);
  if (!shaped || !shaped.hasStaticShape())
    return std::nullopt;
  SmallVector<int64_t> dims;
  llvm::copy_if(shaped.getShape(), std::back_inserter(dims), [](int64_t dim) { return dim != 1; });
  return dims;
}

LogicalResult Importer::checkDeclaredType(StringRef name, Type type, const Scope &scope,
                                          Location loc, StringRef what, bool isInputDefault) {
  // Only this graph's declarations: a subgraph's initializer may shadow an outer name.
  const ::onnx::TypeProto *declaredProto = scope.types.lookup(name);
  if (!declaredProto)
    return success();
  FailureOr<Type> declared = importType(*declaredProto, loc, what);
  if (failed(declared))
    return failure();
  if (isa<TensorType>(*declared) && getElementTypeOrSelf(*declared) == getElementTypeOrSelf(type)) {
    if (succeeded(verifyCompatibleShape(*declared, type)))
      return success();
    std::optional<SmallVector<int64_t>> declaredDims = getNonUnitDims(*declared);
    if (!isInputDefault && declaredDims && declaredDims == getNonUnitDims(type))
      return success();
  }
  return emitError(loc) << what << " is " << type << " but the graph declares it as "
                        << *declared;
}

LogicalResult Importer::bindInputs(ArrayRef<StringRef> names, Block &block, Scope &scope,
                                   StringRef what) {
  for (auto [name, argument] : llvm::zip(names, block.getArguments())) {
    if (name.empty())
      return emitError(fileLoc) << what << ": an input has no name";
    if (!scope.values.try_emplace(name, argument).second)
      return emitError(fileLoc) << what << ": input '" << name << "' is declared twice";
  }
  return success();
}

FailureOr<SmallVector<Value>> Importer::importNodes(const NodeList &nodes,
                                                   ArrayRef<StringRef> outputNames,
                                                   Scope &scope, StringRef what) {
  FailureOr<SmallVector<int>> order = sortNodes(nodes);
  if (failed(order))
    return failure();
  for (int index : *order)
    if (failed(importNode(nodes.Get(index), index, scope)))
      return failure();

  SmallVector<Value> results;
  for (StringRef name : outputNames) {
    Value value = scope.lookupValue(name);
    if (!value)
      return emitError(fileLoc) << what << ": output '" << name << "' is not defined";
    results.push_back(value);
  }
  return results;
}

LogicalResult Importer::importFunction(const ::onnx::FunctionProto &function,
                                       SymbolTable &symbols) {
  std::string what = "function '" + function.name() + "' of domain '" + function.domain() + "'";
  std::string symbol = function.domain() + "." + function.name();
  if (function.name().empty())
    return emitError(fileLoc) << "a model-local function has no name";
  if (symbols.lookup(symbol))
    return emitError(fileLoc) << what << " is defined twice";

  Location loc = NameLoc::get(builder.getStringAttr(symbol), fileLoc);
  SmallVector<Type> inputTypes(function.input_size(), moec::onnx::AnyType::get(&context));
  auto func = func::FuncOp::create(builder, loc, symbol,
                                   builder.getFunctionType(inputTypes, {}));
  func.setPrivate();
  symbols.insert(func);
  func->setAttr("onnx.domain", builder.getStringAttr(function.domain()));
  func->setAttr("onnx.name", builder.getStringAttr(function.name()));
  SmallVector<Attribute> attributeNames;
  for (const std::string &name : function.attribute())
    attributeNames.push_back(builder.getStringAttr(name));
  func->setAttr("onnx.attributes", builder.getArrayAttr(attributeNames));
  func->setAttr("onnx.opset_imports", getOpsetImports(function.opset_import()));

  Block *body = func.addEntryBlock();
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(body);
  Scope scope;
  SmallVector<StringRef> inputNames(function.input().begin(), function.input().end());
  SmallVector<StringRef> outputNames(function.output().begin(), function.output().end());
  if (failed(bindInputs(inputNames, *body, scope, what)))
    return failure();
  FailureOr<SmallVector<Value>> results =
      importNodes(function.node(), outputNames, scope, what);
  if (failed(results))
    return failure();
  builder.setInsertionPointToEnd(body);
  func::ReturnOp::create(builder, loc, *results);
  func.setFunctionType(builder.getFunctionType(inputTypes, ValueRange(*results).getTypes()));
  SmallVector<Attribute> argAttrs;
  for (StringRef name : inputNames)
    argAttrs.push_back(getValueAttrs(name, /*type=*/nullptr));
  func.setAllArgAttrs(argAttrs);
  return success();
}

/// Adds to `names` every value name that nodes of `graph` and of its subgraphs read.
static void collectInputNames(const ::onnx::GraphProto &graph, llvm::StringSet<> &names) {
  for (const ::onnx::NodeProto &node : graph.node()) {
    for (const std::string &input : node.input())
      names.insert(input);
    for (const ::onnx::AttributeProto &attribute : node.attribute()) {
      if (attribute.has_g())
        collectInputNames(attribute.g(), names);
      for (const ::onnx::GraphProto &subgraph : attribute.graphs())
        collectInputNames(subgraph, names);
    }
  }
}

/// A topological order of the graph's nodes that keeps the file's order where it can:
/// ONNX requires sorted graphs, but exporters do not always write them so.
FailureOr<SmallVector<int>> Importer::sortNodes(const NodeList &nodes) {
  int numNodes = nodes.size();
  llvm::StringMap<int> producers;
  for (int index = 0; index < numNodes; ++index) {
    const ::onnx::NodeProto &node = nodes.Get(index);
    for (const std::string &output : node.output()) {
      if (output.empty())
        continue;
      auto [it, inserted] = producers.try_emplace(output, index);
      if (!inserted)
        return emitError(nodeLoc(node, index))
               << describeNode(node, index) << ": output '" << output
               << "' is also an output of " << describeNode(nodes.Get(it->second), it->second);
    }
  }

  // Edges from producers to the nodes that read their outputs, subgraphs included.
  SmallVector<SmallVector<int>> users(numNodes);
  SmallVector<int> numPending(numNodes, 0);
  for (int index = 0; index < numNodes; ++index) {
    const ::onnx::NodeProto &node = nodes.Get(index);
    llvm::StringSet<> inputs;
    for (const std::string &input : node.input())
      inputs.insert(input);
    for (const ::onnx::AttributeProto &attribute : node.attribute()) {
      if (attribute.has_g())
        collectInputNames(attribute.g(), inputs);
      for (const ::onnx::GraphProto &subgraph : attribute.graphs())
        collectInputNames(subgraph, inputs);
    }
    llvm::SmallDenseSet<int> producersOfNode;
    for (const auto &input : inputs) {
      auto it = producers.find(input.getKey());
      if (it != producers.end() && producersOfNode.insert(it->second).second) {
        users[it->second].push_back(index);
        ++numPending[index];
      }
    }
  }

  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int index = 0; index < numNodes; ++index)
    if (numPending[index] == 0)
      ready.push(index);
  SmallVector<int> order;
  while (!ready.empty()) {
    int index = ready.top();
    ready.pop();
    order.push_back(index);
    for (int user : users[index])
      if (--numPending[user] == 0)
        ready.push(user);
  }
  if (static_cast<int>(order.size()) == numNodes)
    return order;

  // Every node left waits, directly or not, on itself.
  int stuck = 0;
  while (numPending[stuck] == 0)
    ++stuck;
  const ::onnx::NodeProto &node = nodes.Get(stuck);
  std::string through;
  for (const std::string &input : node.input()) {
    auto it = producers.find(input);
    if (it != producers.end() && numPending[it->second] != 0) {
      through = input;
      break;
    }
  }
  InFlightDiagnostic diag = emitError(nodeLoc(node, stuck))
                            << describeNode(node, stuck) << ": the graph has a cycle";
  if (!through.empty())
    diag << " through input '" << through << "'";
  return diag;
}

//===----------------------------------------------------------------------===//
// Nodes
//===----------------------------------------------------------------------===//

std::string Importer::describeNode(const ::onnx::NodeProto &node, int index) const {
  std::string name = node.name().empty() ? "#" + std::to_string(index) : node.name();
  return "node '" + name + "' (" + node.op_type() + ")";
}

Location Importer::nodeLoc(const ::onnx::NodeProto &node, int index) {
  std::string name = node.name().empty() ? "#" + std::to_string(index) : node.name();
  return NameLoc::get(builder.getStringAttr(name), fileLoc);
}

static bool isDefaultDomain(StringRef domain) {
  return domain.empty() || domain == "ai.onnx";
}

/// "N", "N or more" or "N to M": how many inputs or outputs a schema allows.
static std::string describeCount(int min, int max) {
  if (min == max)
    return std::to_string(min);
  if (max == std::numeric_limits<int>::max())
    return std::to_string(min) + " or more";
  return std::to_string(min) + " to " + std::to_string(max);
}

/// Refuses a default-domain node with more or fewer inputs or outputs than its op's schema
/// at `opset` allows, as the ONNX checker and onnxruntime do (a Mul of three inputs, a Relu
/// of none). libonnx holds the schemas up to its newest opset: a node of a newer model is
/// held to its op's newest schema there for the least it takes only (later opsets add
/// optional inputs, e.g. Reduce*'s axes in 18), which is what legalization relies on.
static LogicalResult checkArity(const ::onnx::NodeProto &node, std::optional<int64_t> opset,
                                Location loc, StringRef what) {
  const auto &versions = ::onnx::OpSchemaRegistry::DomainToVersionRange::Instance().Map();
  auto known = versions.find(::onnx::ONNX_DOMAIN);
  if (!opset || known == versions.end())
    return success();
  bool newer = *opset > known->second.second;
  const ::onnx::OpSchema *schema = ::onnx::OpSchemaRegistry::Schema(
      node.op_type(), int(std::min<int64_t>(*opset, known->second.second)), ::onnx::ONNX_DOMAIN);
  if (!schema)
    return success(); // An op type moec does not know is named by legalization.
  int most = std::numeric_limits<int>::max();
  for (auto [kind, count, min, max] :
       {std::make_tuple("inputs", node.input_size(), schema->min_input(),
                        newer ? most : schema->max_input()),
        std::make_tuple("outputs", node.output_size(), schema->min_output(),
                        newer ? most : schema->max_output())})
    if (count < min || count > max)
      return emitError(loc) << what << ": " << count << " " << kind << ", but "
                            << node.op_type() << " of opset " << *opset << " takes "
                            << describeCount(min, max);
  // An empty name omits an optional input; a required one must be there.
  const std::vector<::onnx::OpSchema::FormalParameter> &formals = schema->inputs();
  for (int i = 0, e = std::min<int>(node.input_size(), formals.size()); i < e; ++i)
    if (node.input(i).empty() && formals[i].GetOption() == ::onnx::OpSchema::Single)
      return emitError(loc) << what << ": input " << i << " ('" << formals[i].GetName()
                            << "') is required, but its name is empty";
  return success();
}

LogicalResult Importer::importNode(const ::onnx::NodeProto &node, int index, Scope &scope) {
  Location loc = nodeLoc(node, index);
  std::string what = describeNode(node, index);
  if (node.op_type().empty())
    return emitError(loc) << what << ": the node has no op_type";

  SmallVector<Value> inputs;
  for (const std::string &input : node.input()) {
    if (input.empty()) {
      inputs.push_back(moec::onnx::NoneOp::create(builder, loc, builder.getNoneType()));
      continue;
    }
    Value value = scope.lookupValue(input);
    if (!value)
      return emitError(loc) << what << ": input '" << input << "' is not defined";
    inputs.push_back(value);
  }
  for (const std::string &output : node.output())
    if (!output.empty() && scope.lookupValue(output))
      return emitError(loc) << what << ": output '" << output
                            << "' is already defined (ONNX values are assigned once)";

  if (node.op_type() == "Constant" && isDefaultDomain(node.domain()) &&
      node.output_size() == 1 && !node.output(0).empty()) {
    FailureOr<ElementsAttr> value = importConstantNode(node, loc, what);
    if (failed(value))
      return failure();
    if (*value) {
      auto constant = moec::onnx::ConstantOp::create(builder, loc, value->getType(),
                                                     node.output(0), *value);
      scope.values[node.output(0)] = constant.getResult();
      return success();
    }
  }

  SmallVector<Type> resultTypes;
  for (const std::string &output : node.output()) {
    if (output.empty()) {
      resultTypes.push_back(builder.getNoneType());
      continue;
    }
    FailureOr<Type> type = importValueType(output, scope, loc);
    if (failed(type))
      return failure();
    resultTypes.push_back(*type);
  }

  SmallVector<const ::onnx::GraphProto *> graphs;
  NamedAttrList attributes;
  for (const ::onnx::AttributeProto &attribute : node.attribute()) {
    if (attribute.name().empty())
      return emitError(loc) << what << ": an attribute has no name";
    FailureOr<Attribute> value = importAttribute(attribute, loc, what, graphs);
    if (failed(value))
      return failure();
    if (attributes.getNamed(attribute.name()))
      return emitError(loc) << what << ": attribute '" << attribute.name()
                            << "' is given twice";
    attributes.append(attribute.name(), *value);
  }

  OperationState state(loc, moec::onnx::NodeOp::getOperationName());
  state.addOperands(inputs);
  state.addTypes(resultTypes);
  state.addAttribute("op_type", builder.getStringAttr(node.op_type()));
  if (!isDefaultDomain(node.domain()))
    state.addAttribute("domain", builder.getStringAttr(node.domain()));
  if (!node.name().empty())
    state.addAttribute("name", builder.getStringAttr(node.name()));
  if (!attributes.empty())
    state.addAttribute("node_attrs", attributes.getDictionary(&context));
  for (size_t i = 0; i < graphs.size(); ++i)
    state.addRegion();
  Operation *op = builder.create(state);
  if (isDefaultDomain(node.domain()) &&
      failed(checkArity(node, cast<moec::onnx::NodeOp>(op).getOpsetVersion(), loc, what)))
    return failure();

  for (auto [graph, region] : llvm::zip(graphs, op->getRegions()))
    if (failed(importSubgraph(*graph, region, scope, loc)))
      return failure();
  for (auto [output, result] : llvm::zip(node.output(), op->getResults()))
    if (!output.empty())
      scope.values[output] = result;
  return success();
}

LogicalResult Importer::importSubgraph(const ::onnx::GraphProto &graph, Region &region,
                                       const Scope &parent, Location loc) {
  Scope scope;
  scope.parent = &parent;
  declareTypes(graph, scope);
  Block *block = new Block();
  region.push_back(block);
  for (const ::onnx::ValueInfoProto &input : graph.input()) {
    FailureOr<Type> type = importValueType(input.name(), scope, loc);
    if (failed(type))
      return failure();
    block->addArgument(*type, loc);
  }
  return importGraph(graph, scope, *block, /*isMain=*/false);
}

FailureOr<ElementsAttr> Importer::importConstantNode(const ::onnx::NodeProto &node,
                                                     Location loc, StringRef what) {
  if (node.attribute_size() != 1)
    return ElementsAttr();
  const ::onnx::AttributeProto &attribute = node.attribute(0);
  // The scalar and list forms are written as the TensorProto they stand for.
  ::onnx::TensorProto tensor;
  tensor.set_name(node.output(0));
  StringRef name = attribute.name();
  if (name == "value" && attribute.has_t()) {
    tensor = attribute.t();
    tensor.set_name(node.output(0));
  } else if (name == "sparse_value" && attribute.has_sparse_tensor()) {
    return importSparseTensor(attribute.sparse_tensor(), loc, (what + ": value").str());
  } else if (name == "value_float") {
    tensor.set_data_type(::onnx::TensorProto::FLOAT);
    tensor.add_float_data(attribute.f());
  } else if (name == "value_floats") {
    tensor.set_data_type(::onnx::TensorProto::FLOAT);
    tensor.add_dims(attribute.floats_size());
    *tensor.mutable_float_data() = attribute.floats();
  } else if (name == "value_int") {
    tensor.set_data_type(::onnx::TensorProto::INT64);
    tensor.add_int64_data(attribute.i());
  } else if (name == "value_ints") {
    tensor.set_data_type(::onnx::TensorProto::INT64);
    tensor.add_dims(attribute.ints_size());
    *tensor.mutable_int64_data() = attribute.ints();
  } else if (name == "value_string") {
    tensor.set_data_type(::onnx::TensorProto::STRING);
    tensor.add_string_data(attribute.s());
  } else if (name == "value_strings") {
    tensor.set_data_type(::onnx::TensorProto::STRING);
    tensor.add_dims(attribute.strings_size());
    *tensor.mutable_string_data() = attribute.strings();
  } else {
    return ElementsAttr();
  }
  return importTensor(tensor, loc, (what + ": value").str());
}

FailureOr<Attribute>
Importer::importAttribute(const ::onnx::AttributeProto &attribute, Location loc,
                          StringRef nodeWhat,
                          SmallVectorImpl<const ::onnx::GraphProto *> &graphs) {
  using AP = ::onnx::AttributeProto;
  std::string what = (nodeWhat + ": attribute '" + attribute.name() + "'").str();
  auto graphRef = [&](const ::onnx::GraphProto &graph) {
    graphs.push_back(&graph);
    return GraphAttr::get(&context, graphs.size() - 1);
  };
  auto importList = [&](int size, auto importOne) -> FailureOr<Attribute> {
    SmallVector<Attribute> elements;
    for (int i = 0; i < size; ++i) {
      FailureOr<Attribute> element = importOne(i);
      if (failed(element))
        return failure();
      elements.push_back(*element);
    }
    return Attribute(builder.getArrayAttr(elements));
  };

  if (!attribute.ref_attr_name().empty())
    return Attribute(moec::onnx::AttrRefAttr::get(&context, attribute.ref_attr_name()));
  switch (attribute.type()) {
  case AP::INT:
    return Attribute(builder.getI64IntegerAttr(attribute.i()));
  case AP::FLOAT:
    return Attribute(builder.getF32FloatAttr(attribute.f()));
  case AP::STRING:
    return Attribute(builder.getStringAttr(attribute.s()));
  case AP::TENSOR: {
    FailureOr<ElementsAttr> tensor = importTensor(attribute.t(), loc, what);
    if (failed(tensor))
      return failure();
    return Attribute(*tensor);
  }
  case AP::GRAPH:
    return Attribute(graphRef(attribute.g()));
  case AP::TYPE_PROTO: {
    FailureOr<Type> type = importType(attribute.tp(), loc, what);
    if (failed(type))
      return failure();
    return Attribute(TypeAttr::get(*type));
  }
  case AP::INTS:
    return Attribute(builder.getDenseI64ArrayAttr(
        SmallVector<int64_t>(attribute.ints().begin(), attribute.ints().end())));
  case AP::FLOATS:
    return Attribute(builder.getDenseF32ArrayAttr(
        SmallVector<float>(attribute.floats().begin(), attribute.floats().end())));
  case AP::STRINGS:
    return importList(attribute.strings_size(), [&](int i) -> FailureOr<Attribute> {
      return Attribute(builder.getStringAttr(attribute.strings(i)));
    });
  case AP::TENSORS:
    return importList(attribute.tensors_size(), [&](int i) -> FailureOr<Attribute> {
      FailureOr<ElementsAttr> tensor = importTensor(attribute.tensors(i), loc, what);
      if (failed(tensor))
        return failure();
      return Attribute(*tensor);
    });
  case AP::GRAPHS:
    return importList(attribute.graphs_size(), [&](int i) -> FailureOr<Attribute> {
      return Attribute(graphRef(attribute.graphs(i)));
    });
  case AP::TYPE_PROTOS:
    return importList(attribute.type_protos_size(), [&](int i) -> FailureOr<Attribute> {
      FailureOr<Type> type = importType(attribute.type_protos(i), loc, what);
      if (failed(type))
        return failure();
      return Attribute(TypeAttr::get(*type));
    });
  case AP::SPARSE_TENSOR: {
    FailureOr<ElementsAttr> tensor = importSparseTensor(attribute.sparse_tensor(), loc, what);
    if (failed(tensor))
      return failure();
    return Attribute(*tensor);
  }
  case AP::SPARSE_TENSORS:
    return importList(attribute.sparse_tensors_size(), [&](int i) -> FailureOr<Attribute> {
      FailureOr<ElementsAttr> tensor =
          importSparseTensor(attribute.sparse_tensors(i), loc, what);
      if (failed(tensor))
        return failure();
      return Attribute(*tensor);
    });
  default:
    return emitError(loc) << what << ": unknown attribute type " << attribute.type();
  }
}

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

FailureOr<Type> Importer::importType(const ::onnx::TypeProto &type, Location loc,
                                     StringRef what) {
  using TP = ::onnx::TypeProto;
  switch (type.value_case()) {
  case TP::kTensorType: {
    const ::onnx::TypeProto_Tensor &tensor = type.tensor_type();
    ElementType element = moec::onnx::getDataType(&context, tensor.elem_type());
    if (!element.type)
      return emitError(loc) << what << ": unsupported element type " << tensor.elem_type();
    if (!tensor.has_shape())
      return Type(UnrankedTensorType::get(element.type));
    SmallVector<int64_t> shape;
    for (const ::onnx::TensorShapeProto_Dimension &dim : tensor.shape().dim()) {
      if (!dim.has_dim_value()) {
        shape.push_back(ShapedType::kDynamic);
        continue;
      }
      if (dim.dim_value() < 0)
        return emitError(loc) << what << ": negative dimension " << dim.dim_value();
      shape.push_back(dim.dim_value());
    }
    return Type(RankedTensorType::get(shape, element.type));
  }
  case TP::kSequenceType: {
    if (!type.sequence_type().has_elem_type())
      return Type(moec::onnx::SequenceType::get(&context, moec::onnx::AnyType::get(&context)));
    FailureOr<Type> element = importType(type.sequence_type().elem_type(), loc, what);
    if (failed(element))
      return failure();
    return Type(moec::onnx::SequenceType::get(&context, *element));
  }
  case TP::kOptionalType: {
    if (!type.optional_type().has_elem_type())
      return Type(moec::onnx::OptionalType::get(&context, moec::onnx::AnyType::get(&context)));
    FailureOr<Type> element = importType(type.optional_type().elem_type(), loc, what);
    if (failed(element))
      return failure();
    return Type(moec::onnx::OptionalType::get(&context, *element));
  }
  case TP::kMapType: {
    const ::onnx::TypeProto_Map &map = type.map_type();
    ElementType key = moec::onnx::getDataType(&context, map.key_type());
    if (!key.type)
      return emitError(loc) << what << ": unsupported map key type " << map.key_type();
    FailureOr<Type> value = importType(map.value_type(), loc, what);
    if (failed(value))
      return failure();
    return Type(moec::onnx::MapType::get(&context, key.type, *value));
  }
  case TP::kSparseTensorType:
    return emitError(loc) << what << ": sparse tensor types are not supported";
  default:
    return Type(moec::onnx::AnyType::get(&context));
  }
}

FailureOr<Type> Importer::importValueType(StringRef name, const Scope &scope, Location loc) {
  const ::onnx::TypeProto *type = scope.lookupType(name);
  if (!type)
    return Type(moec::onnx::AnyType::get(&context));
  return importType(*type, loc, ("value '" + name + "'").str());
}

ArrayAttr Importer::getDimParams(const ::onnx::TypeProto &type) {
  if (!type.has_tensor_type() || !type.tensor_type().has_shape())
    return {};
  SmallVector<Attribute> names;
  bool anyNamed = false;
  for (const ::onnx::TensorShapeProto_Dimension &dim : type.tensor_type().shape().dim()) {
    names.push_back(builder.getStringAttr(dim.dim_param()));
    anyNamed |= !dim.dim_param().empty();
  }
  return anyNamed ? builder.getArrayAttr(names) : ArrayAttr();
}

DictionaryAttr Importer::getValueAttrs(StringRef name, const ::onnx::TypeProto *type,
                                       Attribute initializer) {
  NamedAttrList attrs;
  attrs.append("onnx.name", builder.getStringAttr(name));
  if (type)
    if (ArrayAttr dimParams = getDimParams(*type))
      attrs.append("onnx.dim_params", dimParams);
  if (initializer)
    attrs.append("onnx.initializer", initializer);
  return attrs.getDictionary(&context);
}

//===----------------------------------------------------------------------===//
// Tensors
//===----------------------------------------------------------------------===//

FailureOr<TensorShape> Importer::getTensorShape(const ::onnx::TensorProto &tensor,
                                                Location loc, StringRef what) {
  ElementType element = moec::onnx::getDataType(&context, tensor.data_type());
  if (!element.type)
    return emitError(loc) << what << ": unsupported element type " << tensor.data_type();
  if (tensor.has_segment())
    return emitError(loc) << what << ": segmented tensors are not supported";

  // Up to 2^60 elements keeps every byte count below in range.
  constexpr uint64_t maxElements = uint64_t(1) << 60;
  SmallVector<int64_t> shape;
  uint64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0)
      return emitError(loc) << what << ": negative dimension " << dim;
    if (dim != 0 && count > maxElements / static_cast<uint64_t>(dim))
      return emitError(loc) << what << ": too many elements";
    count *= dim;
    shape.push_back(dim);
  }
  return TensorShape{element, RankedTensorType::get(shape, element.type), count};
}

FailureOr<AsmResourceBlob> Importer::readTensorData(const ::onnx::TensorProto &tensor,
                                                    const TensorShape &shape, Location loc,
                                                    StringRef what) {
  uint64_t bytes = shape.element.storageBytes(shape.count);
  unsigned align = std::max(1u, std::min(16u, shape.element.bits / 8));
  if (tensor.data_location() == ::onnx::TensorProto::EXTERNAL)
    return mapExternalData(tensor, bytes, align, loc, what);
  if (!tensor.has_raw_data())
    return copyTypedData(tensor, shape.element, shape.count, loc, what);
  if (tensor.raw_data().size() != bytes)
    return emitError(loc) << what << ": raw_data has " << tensor.raw_data().size()
                          << " bytes, the shape needs " << bytes;
  return HeapAsmResourceBlob::allocateAndCopyWithAlign(
      ArrayRef<char>(tensor.raw_data().data(), bytes), align);
}

FailureOr<ElementsAttr> Importer::importTensor(const ::onnx::TensorProto &tensor,
                                               Location loc, StringRef what) {
  FailureOr<TensorShape> shape = getTensorShape(tensor, loc, what);
  if (failed(shape))
    return failure();
  if (isString(shape->element)) {
    if (static_cast<uint64_t>(tensor.string_data_size()) != shape->count)
      return emitError(loc) << what << ": " << tensor.string_data_size()
                            << " strings for " << shape->count << " elements";
    SmallVector<StringRef> strings(tensor.string_data().begin(), tensor.string_data().end());
    return ElementsAttr(DenseStringElementsAttr::get(shape->type, strings));
  }
  FailureOr<AsmResourceBlob> blob = readTensorData(tensor, *shape, loc, what);
  if (failed(blob))
    return failure();
  StringRef blobName = tensor.name().empty() ? StringRef("tensor") : tensor.name();
  return ElementsAttr(DenseResourceElementsAttr::get(shape->type, blobName, std::move(*blob)));
}

FailureOr<ElementsAttr> Importer::importSparseTensor(const ::onnx::SparseTensorProto &sparse,
                                                     Location loc, StringRef what) {
  const ::onnx::TensorProto &values = sparse.values();
  const ::onnx::TensorProto &indices = sparse.indices();
  FailureOr<TensorShape> valuesShape = getTensorShape(values, loc, what);
  FailureOr<TensorShape> indicesShape = getTensorShape(indices, loc, what);
  if (failed(valuesShape) || failed(indicesShape))
    return failure();
  RankedTensorType valuesType = valuesShape->type;
  if (valuesType.getRank() != 1 || isString(valuesShape->element))
    return emitError(loc) << what << ": sparse values must be a 1-D numeric tensor";
  int64_t numValues = valuesType.getDimSize(0);
  int64_t rank = sparse.dims_size();
  ArrayRef<int64_t> indicesDims = indicesShape->type.getShape();
  bool linearized = indicesDims == ArrayRef<int64_t>{numValues};
  if (indices.data_type() != ::onnx::TensorProto::INT64 ||
      (!linearized && indicesDims != ArrayRef<int64_t>{numValues, rank}))
    return emitError(loc) << what << ": sparse indices must be int64 of shape [" << numValues
                          << "] or [" << numValues << ", " << rank << "]";
  FailureOr<TensorShape> denseShape = getTensorShape(
      [&] {
        ::onnx::TensorProto dense;
        dense.set_data_type(values.data_type());
        *dense.mutable_dims() = sparse.dims();
        return dense;
      }(),
      loc, what);
  if (failed(denseShape))
    return failure();

  // MLIR's sparse elements hold their values and indices as uniqued dense elements: sparse
  // tensors are small, unlike the weights dense resources are for.
  FailureOr<AsmResourceBlob> valuesBlob = readTensorData(values, *valuesShape, loc, what);
  FailureOr<AsmResourceBlob> indicesBlob = readTensorData(indices, *indicesShape, loc, what);
  if (failed(valuesBlob) || failed(indicesBlob))
    return failure();
  bool isSplat = false;
  if (!DenseElementsAttr::isValidRawBuffer(valuesType, valuesBlob->getData(), isSplat))
    return emitError(loc) << what << ": sparse values of type " << valuesType.getElementType()
                          << " are not supported";
  auto denseValues = DenseElementsAttr::getFromRawBuffer(valuesType, valuesBlob->getData());

  // One row of `rank` coordinates for each value; linearized indices are unraveled.
  ArrayRef<int64_t> denseDims = denseShape->type.getShape();
  SmallVector<int64_t> coordinates;
  const char *indexData = indicesBlob->getData().data();
  for (int64_t i = 0, e = indicesShape->count; i < e; ++i) {
    int64_t index;
    std::memcpy(&index, indexData + i * sizeof(int64_t), sizeof(int64_t));
    if (!linearized) {
      coordinates.push_back(index);
      continue;
    }
    if (index < 0 || static_cast<uint64_t>(index) >= denseShape->count)
      return emitError(loc) << what << ": sparse index " << index << " is out of range";
    size_t rowStart = coordinates.size();
    coordinates.resize(rowStart + rank);
    for (int64_t d = rank - 1; d >= 0; --d) {
      coordinates[rowStart + d] = index % denseDims[d];
      index /= denseDims[d];
    }
  }
  auto indicesAttr = DenseIntElementsAttr::get(
      RankedTensorType::get({numValues, rank}, builder.getI64Type()), coordinates);
  SparseElementsAttr result = SparseElementsAttr::getChecked(
      [&] { return emitError(loc) << what << ": "; }, denseShape->type, indicesAttr,
      denseValues);
  if (!result)
    return failure();
  return ElementsAttr(result);
}

/// Copies the typed repeated field of `tensor` (float_data, int32_data, ...) into a blob in
/// ONNX's raw layout: each value truncated to the element's width, little-endian.
FailureOr<AsmResourceBlob> Importer::copyTypedData(const ::onnx::TensorProto &tensor,
                                                   ElementType element, uint64_t count,
                                                   Location loc, StringRef what) {
  using TP = ::onnx::TensorProto;
  uint64_t bytes = element.storageBytes(count);
  unsigned align = std::max(1u, std::min(16u, element.bits / 8));

  // Complex numbers take two entries; 4-bit types one entry for each packed byte. The
  // entries are counted before anything is allocated: the shape alone may ask for more
  // memory than there is.
  auto copyField = [&](const auto &field, unsigned entryBytes,
                       StringRef fieldName) -> FailureOr<AsmResourceBlob> {
    uint64_t entries = bytes / entryBytes;
    if (static_cast<uint64_t>(field.size()) != entries)
      return emitError(loc) << what << ": " << fieldName << " has " << field.size()
                            << " values, the shape needs " << entries;
    AsmResourceBlob blob = HeapAsmResourceBlob::allocate(bytes, align);
    char *out = blob.getMutableData().data();
    for (uint64_t i = 0; i < entries; ++i) {
      auto value = field.Get(static_cast<int>(i));
      std::memcpy(out + i * entryBytes, &value, entryBytes);
    }
    return blob;
  };

  switch (tensor.data_type()) {
  case TP::FLOAT:
  case TP::COMPLEX64:
    return copyField(tensor.float_data(), 4, "float_data");
  case TP::DOUBLE:
  case TP::COMPLEX128:
    return copyField(tensor.double_data(), 8, "double_data");
  case TP::INT64:
    return copyField(tensor.int64_data(), 8, "int64_data");
  case TP::UINT32:
    return copyField(tensor.uint64_data(), 4, "uint64_data");
  case TP::UINT64:
    return copyField(tensor.uint64_data(), 8, "uint64_data");
  default: // Every narrower type (and bool, float16, float8, 4-bit) is in int32_data.
    return copyField(tensor.int32_data(), std::max(1u, element.bits / 8), "int32_data");
  }
}

FailureOr<MappedFile> Importer::mapFile(StringRef location, Location loc, StringRef what) {
  auto it = mappedFiles.find(location);
  if (it != mappedFiles.end())
    return it->second;

  SmallString<256> path(externalDataDir), resolved, folder;
  llvm::sys::path::append(path, location);
  // Symbolic links are followed before the file is opened: the one resolved must still
  // lie inside the model's folder, and be a regular file (opening a FIFO would block).
  if (std::error_code error = llvm::sys::fs::real_path(path, resolved))
    return emitError(loc) << what << ": cannot open external data file '" << location
                          << "': " << error.message();
  if (std::error_code error =
          llvm::sys::fs::real_path(externalDataDir.empty() ? "." : externalDataDir, folder))
    return emitError(loc) << what << ": cannot resolve the model's folder: " << error.message();
  if (!StringRef(resolved).starts_with((folder + "/").str()))
    return emitError(loc) << what << ": external data file '" << location << "' resolves to '"
                          << resolved << "', outside the model's folder";
  if (!llvm::sys::fs::is_regular_file(resolved))
    return emitError(loc) << what << ": external data file '" << location
                          << "' is not a regular file";
  llvm::Expected<llvm::sys::fs::file_t> file = llvm::sys::fs::openNativeFileForRead(resolved);
  if (!file)
    return emitError(loc) << what << ": cannot open external data file '" << location
                          << "': " << llvm::toString(file.takeError());
  llvm::sys::fs::file_status status;
  std::error_code error = llvm::sys::fs::status(*file, status);
  MappedFile mapped;
  if (!error && status.type() != llvm::sys::fs::file_type::regular_file)
    error = std::make_error_code(std::errc::invalid_argument);
  if (!error && status.getSize() > 0)
    mapped = std::make_shared<llvm::sys::fs::mapped_file_region>(
        *file, llvm::sys::fs::mapped_file_region::readonly, status.getSize(), 0, error);
  llvm::sys::fs::closeFile(*file);
  if (error)
    return emitError(loc) << what << ": cannot map external data file '" << location
                          << "': " << error.message();
  // An empty file maps to nothing; it can still hold empty tensors.
  mappedFiles[location] = mapped;
  return mapped;
}

FailureOr<AsmResourceBlob> Importer::mapExternalData(const ::onnx::TensorProto &tensor,
                                                     uint64_t bytes, unsigned align,
                                                     Location loc, StringRef what) {
  std::string location;
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  for (const ::onnx::StringStringEntryProto &entry : tensor.external_data()) {
    auto parseNumber = [&](uint64_t &value) -> LogicalResult {
      if (StringRef(entry.value()).getAsInteger(10, value))
        return emitError(loc) << what << ": external data " << entry.key() << " '"
                              << entry.value() << "' is not a number";
      return success();
    };
    if (entry.key() == "location") {
      location = entry.value();
    } else if (entry.key() == "offset") {
      if (failed(parseNumber(offset)))
        return failure();
    } else if (entry.key() == "length") {
      length.emplace();
      if (failed(parseNumber(*length)))
        return failure();
    }
  }
  if (location.empty())
    return emitError(loc) << what << ": external data without a location";
  // The data must lie beside the model: no absolute paths, no way out through "..", and
  // no NUL, after which the operating system would read a different path than checked.
  if (llvm::sys::path::is_absolute(location) || location.front() == '/' ||
      location.find('\0') != std::string::npos ||
      llvm::is_contained(llvm::make_range(llvm::sys::path::begin(location),
                                          llvm::sys::path::end(location)),
                         ".."))
    return emitError(loc) << what << ": external data location '" << location
                          << "' is not a relative path inside the model's folder";
  if (length && *length != bytes)
    return emitError(loc) << what << ": external data length " << *length
                          << " does not match the " << bytes << " bytes of the tensor";

  FailureOr<MappedFile> file = mapFile(location, loc, what);
  if (failed(file))
    return failure();
  uint64_t fileSize = *file ? (*file)->size() : 0;
  if (offset > fileSize || bytes > fileSize - offset)
    return emitError(loc) << what << ": external data file '" << location
                          << "' is too short: the tensor needs bytes [" << offset << ", "
                          << offset + bytes << ") but the file has " << fileSize;
  const char *data = *file ? (*file)->const_data() + offset : nullptr;
  // Record the alignment the mapped data really has.
  while (align > 1 && reinterpret_cast<uintptr_t>(data) % align != 0)
    align /= 2;
  // The blob's deleter owns a reference to the mapping: it lives as long as the context.
  return UnmanagedAsmResourceBlob::allocateWithAlign(
      ArrayRef<char>(data, bytes), align,
      [keepMapped = *file](void *, size_t, size_t) {});
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

void moec::registerImportedDialects(DialectRegistry &registry) {
  registry.insert<moec::onnx::ONNXDialect, func::FuncDialect>();
}

OwningOpRef<ModuleOp> moec::importONNXBuffer(StringRef bytes, StringRef displayName,
                                             StringRef externalDataDir, MLIRContext &context,
                                             const ImportOptions &options) {
  DialectRegistry registry;
  registerImportedDialects(registry);
  context.appendDialectRegistry(registry);
  context.loadDialect<moec::onnx::ONNXDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(&context, displayName, 0, 0);

  if (bytes.empty()) {
    emitError(fileLoc) << "the file is empty";
    return {};
  }
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    emitError(fileLoc) << "the model is over 2 GB: store its weights as external data";
    return {};
  }
  ::onnx::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    emitError(fileLoc) << "not an ONNX model: the protobuf does not parse (truncated or "
                          "corrupt file?)";
    return {};
  }
  return Importer(context, displayName, externalDataDir).importModel(model, options.inferShapes);
}

OwningOpRef<ModuleOp> moec::importONNXFile(StringRef path, MLIRContext &context,
                                           const ImportOptions &options) {
  Location fileLoc = FileLineColLoc::get(&context, path, 0, 0);
  llvm::sys::fs::file_status status;
  if (std::error_code error = llvm::sys::fs::status(path, status)) {
    emitError(fileLoc) << "cannot read the model: " << error.message();
    return {};
  }
  if (status.type() != llvm::sys::fs::file_type::regular_file) {
    emitError(fileLoc) << "cannot read the model: not a regular file";
    return {};
  }
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) {
    emitError(fileLoc) << "cannot read the model: " << buffer.getError().message();
    return {};
  }
  SmallString<256> dir(path);
  llvm::sys::path::remove_filename(dir);
  if (dir.empty())
    dir = ".";
  return importONNXBuffer((*buffer)->getBuffer(), path, dir, context, options);
}
