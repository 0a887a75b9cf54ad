// _cantina_logging: the native half of tools/python/cantina_logging.py's CantinaHandler.
//
// A CPython extension module (the stable ABI of Python 3.11 and later, so one build loads
// into every CPython from 3.11 on) with one type, Core: the base class of CantinaHandler
// whose handle() and emit() carry a logging.LogRecord to the bus Logger's queue in C, with
// no ctypes call and no Python object made for what the record does not need:
//
//   handle(record)  the logging.Handler.handle of this handler: the handler's filters (only
//                   if it has any), then emit(). Not under the handler's lock: see below.
//   emit(record)    fork check; the bus threshold (before any formatting); the message as
//                   the default Formatter makes it (str(msg) % args in C; any other formatter,
//                   an exception or a stack goes through self.format()); name, pathname,
//                   lineno, funcName, threadName and created read from the record's __dict__
//                   in place (their UTF-8 is the str's own for ASCII); `extra=` values as
//                   fields; then one call of cantina_logger_log. It never raises into the
//                   caller (a RecursionError excepted, as before): a failure goes to
//                   self._fail(error), which counts it and reports the first one.
//
// The Logger itself is opened, flushed and closed by cantina_logging through the ctypes
// binding of libcantina_bus_c.so (BusLogger): rare calls, which is why ctypes stays; it also
// carries LineReader and StatusPublisher for tools/cantina, and the records themselves where
// this module was not built (the same behaviour, only slower). _native_attach(library,
// handle, native) gives this object the Logger's handle and resolves cantina_logger_log and
// cantina_logger_level in the same library (dlopen of the file ctypes has loaded, C API
// version checked; on failure records go through ctypes); _native_detach() forgets the
// handle before close() frees it.
//
// Threads and the GIL: every method runs holding the GIL, and emit() calls no Python code
// between its last look at the handle and the cantina_logger_log call that uses it, so
// close() (which detaches under the GIL before freeing) can never free the Logger under an
// emit(). The GIL is not released around cantina_logger_log: the call only copies the record
// into the Logger's queue (a short lock, never the network), which costs less than giving
// the GIL away and taking it back, and holding it is what keeps the handle alive. This is
// also why handle() does not take the handler's lock: the lock serialised emit() for the
// ctypes binding, and nothing here needs it (the Logger's queue is thread-safe).
//
// fork(): a pthread_atfork child handler counts forks; an emit() that sees a new count is in
// a child and asks self._bus_for_this_process() for a Logger of its own first (the
// parent's Logger thread does not exist in the child).
//
// Exit: logging.shutdown() calls close() (Python), which detaches, then publishes what is
// queued (at most the hold time) and frees the Logger; a record emitted after that (a daemon
// thread) finds no handle and is counted in handler.failures, as through ctypes.
#define PY_SSIZE_T_CLEAN
#define Py_LIMITED_API 0x030B0000
#include <Python.h>

#include <dlfcn.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cantina/bus/c_api.h"

namespace {

using LogFunction = decltype(&cantina_logger_log);
using LevelFunction = decltype(&cantina_logger_level);
using VersionFunction = decltype(&cantina_api_version);

// Forks seen (incremented in the child, by the pthread_atfork handler).
std::atomic<unsigned long> fork_generation{0};

extern "C" void count_fork_in_child() {
  fork_generation.fetch_add(1, std::memory_order_relaxed);
}

// What configure() was given: the logging module's own objects this module compares with.
struct Configuration {
  PyObject* standard_attributes = nullptr;  // frozenset of a LogRecord's own attribute names
  Py_ssize_t standard_count = 0;            // how many a plain LogRecord has
  PyObject* get_message = nullptr;          // logging.LogRecord.getMessage
  PyObject* log_record_type = nullptr;      // logging.LogRecord
  PyObject* handler_handle = nullptr;       // logging.Handler.handle
  bool filter_returns_record = false;       // Filterer.filter returns the record (3.12+), not True
};
Configuration configuration;

// Attribute names, interned once.
struct Names {
  PyObject* levelno;
  PyObject* msg;
  PyObject* args;
  PyObject* exc_info;
  PyObject* exc_text;
  PyObject* stack_info;
  PyObject* name;
  PyObject* pathname;
  PyObject* lineno;
  PyObject* func_name;
  PyObject* thread_name;
  PyObject* created;
  PyObject* filters;
  PyObject* filter;
  PyObject* formatter;
  PyObject* format;
  PyObject* get_message;
  PyObject* bus_for_this_process;
  PyObject* no_bus;
  PyObject* fail;
  PyObject* log_failed;
  PyObject* emit_python;
};
Names names;

bool intern_names() {
  const std::array<std::pair<PyObject**, const char*>, 22> table = {{
      {&names.levelno, "levelno"},
      {&names.msg, "msg"},
      {&names.args, "args"},
      {&names.exc_info, "exc_info"},
      {&names.exc_text, "exc_text"},
      {&names.stack_info, "stack_info"},
      {&names.name, "name"},
      {&names.pathname, "pathname"},
      {&names.lineno, "lineno"},
      {&names.func_name, "funcName"},
      {&names.thread_name, "threadName"},
      {&names.created, "created"},
      {&names.filters, "filters"},
      {&names.filter, "filter"},
      {&names.formatter, "formatter"},
      {&names.format, "format"},
      {&names.get_message, "getMessage"},
      {&names.bus_for_this_process, "_bus_for_this_process"},
      {&names.no_bus, "_no_bus"},
      {&names.fail, "_fail"},
      {&names.log_failed, "_log_failed"},
      {&names.emit_python, "_emit_python"},
  }};
  for (const auto& [slot, text] : table) {
    *slot = PyUnicode_InternFromString(text);
    if (*slot == nullptr) return false;
  }
  return true;
}

// The instance layout of Core (CantinaHandler adds its __dict__ after it).
struct Core {
  PyObject_HEAD cantina_logger* logger;  // null: not connected (or closed)
  LogFunction log;                       // cantina_logger_log of the library the handle came from
  LevelFunction level;                   // cantina_logger_level of the same
  unsigned long generation;              // fork_generation when attached
  int native;                            // 1: records go through emit() here; 0: through _emit_python
};

Core* core_of(PyObject* self) {
  return reinterpret_cast<Core*>(self);
}

// A Python level number as a bus level; between two names it rounds down.
int bus_level(long level) {
  if (level < 20) return CANTINA_LEVEL_DEBUG;
  if (level < 30) return CANTINA_LEVEL_INFO;
  if (level < 40) return CANTINA_LEVEL_WARNING;
  if (level < 50) return CANTINA_LEVEL_ERROR;
  return CANTINA_LEVEL_CRITICAL;
}

// A new reference to a Python object, released at the end of the scope.
class Ref {
 public:
  Ref() = default;
  explicit Ref(PyObject* object) : object_(object) {}
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  Ref(Ref&& other) noexcept : object_(other.object_) { other.object_ = nullptr; }
  Ref& operator=(Ref&& other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~Ref() { Py_XDECREF(object_); }
  PyObject* get() const { return object_; }
  explicit operator bool() const { return object_ != nullptr; }

 private:
  PyObject* object_ = nullptr;
};

// str(value) as a new reference: `value` itself if it is a str; empty (with a
// Python exception set) if str() failed.
Ref str_of(PyObject* value) {
  if (PyUnicode_CheckExact(value)) {
    Py_INCREF(value);
    return Ref(value);
  }
  return Ref(PyObject_Str(value));
}

// The UTF-8 of a value as the ctypes binding sent it: str(value) encoded with
// "backslashreplace" (lone surrogates escaped); None gives NULL where `none_is_null`.
class Text {
 public:
  // False with a Python exception set if str() failed.
  bool set(PyObject* value, bool none_is_null) {
    if (value == nullptr || (none_is_null && value == Py_None)) {
      data_ = nullptr;
      size_ = 0;
      return true;
    }
    owner_ = str_of(value);
    if (!owner_) return false;
    data_ = PyUnicode_AsUTF8AndSize(owner_.get(), &size_);
    if (data_ != nullptr) return true;
    if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) return false;
    PyErr_Clear();
    owner_ = Ref(PyUnicode_AsEncodedString(owner_.get(), "utf-8", "backslashreplace"));
    if (!owner_) return false;
    char* bytes = nullptr;
    if (PyBytes_AsStringAndSize(owner_.get(), &bytes, &size_) < 0) return false;
    data_ = bytes;
    return true;
  }
  // UTF-8 that `utf8` keeps (it must outlive this).
  void set_utf8(const std::string& utf8) {
    owner_ = Ref();
    data_ = utf8.data();
    size_ = static_cast<Py_ssize_t>(utf8.size());
  }
  const char* data() const { return data_; }
  std::size_t size() const { return static_cast<std::size_t>(size_); }

 private:
  Ref owner_;
  const char* data_ = nullptr;
  Py_ssize_t size_ = 0;
};

// record.__dict__[name], borrowed; null (no exception) if absent.
PyObject* item(PyObject* dict, PyObject* name) {
  return PyDict_GetItemWithError(dict, name);
}

bool is_true(PyObject* value) {
  return value != nullptr && value != Py_None && PyObject_IsTrue(value) == 1;
}

// The UTF-8 of a str, or null (no exception set) if it has none (a lone surrogate).
const char* utf8_of(PyObject* text, Py_ssize_t& size) {
  const char* data = PyUnicode_AsUTF8AndSize(text, &size);
  if (data == nullptr) PyErr_Clear();
  return data;
}

// `msg % args` made here, as UTF-8 appended to `out`, when that is simple: `msg` a str,
// `args` a tuple, every conversion %s, %d, %i or %% with no key, flag, width or precision,
// each %s of a str or an int and each %d or %i of an int (exact types: a subclass may
// format itself otherwise) that fits in 64 bits, one argument per conversion. Then no
// Python object is made for the message. False, with no exception set, for anything
// else, which the caller leaves to Python (that also raises what Python would).
bool format_simple(PyObject* msg, PyObject* args, std::string& out) {
  if (!PyUnicode_CheckExact(msg) || !PyTuple_CheckExact(args)) return false;
  Py_ssize_t size = 0;
  const char* format = utf8_of(msg, size);
  if (format == nullptr) return false;
  const Py_ssize_t count = PyTuple_Size(args);
  Py_ssize_t used = 0;
  const char* at = format;
  const char* const end = format + size;
  out.reserve(static_cast<std::size_t>(size) + 64);
  while (at < end) {
    // '%' is ASCII: it never occurs inside another character's UTF-8.
    const auto* percent = static_cast<const char*>(std::memchr(at, '%', static_cast<std::size_t>(end - at)));
    if (percent == nullptr) {
      out.append(at, static_cast<std::size_t>(end - at));
      break;
    }
    out.append(at, static_cast<std::size_t>(percent - at));
    if (percent + 1 == end) return false;  // "incomplete format": Python says so
    const char conversion = percent[1];
    at = percent + 2;
    if (conversion == '%') {
      out += '%';
      continue;
    }
    if ((conversion != 's' && conversion != 'd' && conversion != 'i') || used == count) return false;
    PyObject* arg = PyTuple_GetItem(args, used++);
    if (PyLong_CheckExact(arg)) {
      int overflow = 0;
      const long long value = PyLong_AsLongLongAndOverflow(arg, &overflow);
      if (overflow != 0 || (value == -1 && PyErr_Occurred() != nullptr)) {
        PyErr_Clear();
        return false;
      }
      std::array<char, 24> digits{};
      const auto written = std::to_chars(digits.data(), digits.data() + digits.size(), value);
      out.append(digits.data(), written.ptr);
    } else if (conversion == 's' && PyUnicode_CheckExact(arg)) {
      Py_ssize_t length = 0;
      const char* text = utf8_of(arg, length);
      if (text == nullptr) return false;
      out.append(text, static_cast<std::size_t>(length));
    } else {
      return false;
    }
  }
  return used == count;  // else "not all arguments converted": Python says so
}

// The record's message: a str in `text`, or its UTF-8 in `utf8` (made here, `text` empty).
struct Message {
  Ref text;
  std::string utf8;
};

// The message as the default Formatter makes it, in C when it can be: no formatter set, a
// LogRecord whose getMessage() is logging's, no exception or stack text. Otherwise (and for
// anything else) self.format(record), as logging.Handler does. False with a Python
// exception set if that failed.
bool format_message(PyObject* self, PyObject* record, PyObject* dict, Message& message) {
  Ref formatter(PyObject_GetAttr(self, names.formatter));
  if (!formatter) return false;
  bool plain = formatter.get() == Py_None && !is_true(item(dict, names.exc_info)) &&
               !is_true(item(dict, names.exc_text)) && !is_true(item(dict, names.stack_info));
  if (plain) {
    Ref get_message(PyObject_GetAttr(reinterpret_cast<PyObject*>(Py_TYPE(record)), names.get_message));
    if (!get_message) return false;
    plain = get_message.get() == configuration.get_message;
  }
  if (PyErr_Occurred() != nullptr) return false;
  if (!plain) {
    message.text = Ref(PyObject_CallMethodObjArgs(self, names.format, record, nullptr));
    return static_cast<bool>(message.text);
  }
  // LogRecord.getMessage(): msg = str(self.msg); if self.args: msg = msg % self.args
  PyObject* msg = item(dict, names.msg);
  PyObject* args = item(dict, names.args);
  if (msg == nullptr) {
    message.text = Ref(PyObject_CallMethodObjArgs(record, names.get_message, nullptr));
    return static_cast<bool>(message.text);
  }
  // In getMessage's order: str(msg) first, then the truth of args (either may run code).
  Ref text = str_of(msg);
  if (!text) return false;
  if (args != nullptr) {
    const int has_args = PyObject_IsTrue(args);
    if (has_args < 0) return false;
    if (has_args == 0) args = nullptr;
  }
  if (args == nullptr) {
    message.text = std::move(text);
    return true;
  }
  if (format_simple(text.get(), args, message.utf8)) return true;
  message.utf8.clear();
  message.text = Ref(PyNumber_Remainder(text.get(), args));
  return static_cast<bool>(message.text);
}

// Calls self.<method>(argument) for its effect; a failure in it is swallowed (the handler
// must not raise, and these are the handler's own reports).
void call_quietly(PyObject* self, PyObject* method, PyObject* argument) {
  PyObject* result = PyObject_CallMethodObjArgs(self, method, argument, nullptr);
  if (result == nullptr) {
    PyErr_Clear();
  } else {
    Py_DECREF(result);
  }
}

// Ends emit(): a pending exception goes to self._fail(error) unless it is a RecursionError,
// which propagates (as logging.Handler subclasses are expected to let it). Returns the
// result of the Python call: None, or null with the RecursionError set.
PyObject* finish_emit(PyObject* self) {
  if (PyErr_Occurred() == nullptr) Py_RETURN_NONE;
  if (PyErr_ExceptionMatches(PyExc_RecursionError)) return nullptr;
  PyObject* type = nullptr;
  PyObject* value = nullptr;
  PyObject* traceback = nullptr;
  PyErr_Fetch(&type, &value, &traceback);
  PyErr_NormalizeException(&type, &value, &traceback);
  Ref owned_type(type);
  Ref owned_value(value);
  Ref owned_traceback(traceback);
  call_quietly(self, names.fail, value != nullptr ? value : Py_None);
  Py_RETURN_NONE;
}

// The record's `extra=` values: every attribute a plain LogRecord does not have and whose
// name does not start with "_", in the record's order, each value as str().
struct Fields {
  std::vector<Text> keys;
  std::vector<Text> values;
  std::vector<cantina_field> array;

  // False with a Python exception set.
  bool collect(PyObject* dict) {
    if (PyDict_Size(dict) <= configuration.standard_count) return true;  // nothing but the standard ones
    Py_ssize_t position = 0;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    while (PyDict_Next(dict, &position, &key, &value) != 0) {
      if (!PyUnicode_Check(key)) continue;
      const int standard = PySet_Contains(configuration.standard_attributes, key);
      if (standard < 0) return false;
      if (standard == 1) continue;
      if (PyUnicode_GetLength(key) > 0 && PyUnicode_ReadChar(key, 0) == '_') continue;
      keys.emplace_back();
      values.emplace_back();
      if (!keys.back().set(key, false) || !values.back().set(value, false)) return false;
    }
    array.reserve(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i) array.push_back({keys[i].data(), values[i].data()});
    return true;
  }
};

// emit() when records go through here; never raises but a RecursionError.
PyObject* emit_native(PyObject* self, PyObject* record) {
  Core* core = core_of(self);
  if (core->generation != fork_generation.load(std::memory_order_relaxed)) {
    // In a child after fork(): the parent's Logger cannot be used here.
    PyObject* bus = PyObject_CallMethodObjArgs(self, names.bus_for_this_process, nullptr);
    if (bus == nullptr) return finish_emit(self);
    Py_DECREF(bus);
    core->generation = fork_generation.load(std::memory_order_relaxed);
  }
  if (core->logger == nullptr) {
    call_quietly(self, names.no_bus, nullptr);
    Py_RETURN_NONE;
  }
  Ref dict(PyObject_GenericGetDict(record, nullptr));
  if (!dict) return finish_emit(self);
  PyObject* levelno = item(dict.get(), names.levelno);
  if (levelno == nullptr) {
    if (PyErr_Occurred() == nullptr) PyErr_SetString(PyExc_AttributeError, "the record has no levelno");
    return finish_emit(self);
  }
  const long python_level = PyLong_AsLong(levelno);
  if (python_level == -1 && PyErr_Occurred() != nullptr) return finish_emit(self);
  const int level = bus_level(python_level);
  if (level < core->level(core->logger)) Py_RETURN_NONE;  // below the bus threshold: not even formatted

  Message message;
  if (!format_message(self, record, dict.get(), message)) return finish_emit(self);
  Text message_text;
  Text logger_name;
  Text file;
  Text function;
  Text thread;
  if (message.text) {
    if (!message_text.set(message.text.get(), false)) return finish_emit(self);
  } else {
    message_text.set_utf8(message.utf8);
  }
  if (!logger_name.set(item(dict.get(), names.name), true) || !file.set(item(dict.get(), names.pathname), true) ||
      !function.set(item(dict.get(), names.func_name), true) ||
      !thread.set(item(dict.get(), names.thread_name), true)) {
    return finish_emit(self);
  }
  std::uint32_t line = 0;
  if (PyObject* lineno = item(dict.get(), names.lineno); lineno != nullptr && lineno != Py_None) {
    const long long value = PyLong_AsLongLong(lineno);
    if (value == -1 && PyErr_Occurred() != nullptr) return finish_emit(self);
    line = static_cast<std::uint32_t>(std::clamp<long long>(value, 0, 0xFFFFFFFFLL));
  }
  std::int64_t timestamp_ns = 0;
  if (PyObject* created = item(dict.get(), names.created); created != nullptr && created != Py_None) {
    const double seconds = PyFloat_AsDouble(created);
    if (seconds == -1.0 && PyErr_Occurred() != nullptr) return finish_emit(self);
    timestamp_ns = static_cast<std::int64_t>(seconds * 1e9);
  }
  Fields fields;
  if (!fields.collect(dict.get())) return finish_emit(self);
  if (PyErr_Occurred() != nullptr) return finish_emit(self);

  // No Python code runs from here on: the handle cannot be freed under this call.
  if (core->logger == nullptr) {  // closed while the message was formatted
    call_quietly(self, names.no_bus, nullptr);
    Py_RETURN_NONE;
  }
  const int result = core->log(core->logger, level, message_text.data(), message_text.size(), logger_name.data(),
                               file.data(), line, function.data(), thread.data(), timestamp_ns,
                               fields.array.empty() ? nullptr : fields.array.data(), fields.array.size());
  if (result < CANTINA_OK && result != CANTINA_ERROR_DROPPED) {  // a full queue is counted by the Logger
    Ref code(PyLong_FromLong(result));
    if (code) call_quietly(self, names.log_failed, code.get());
    PyErr_Clear();
  }
  Py_RETURN_NONE;
}

PyObject* core_emit(PyObject* self, PyObject* record) {
  if (core_of(self)->native == 0) return PyObject_CallMethodObjArgs(self, names.emit_python, record, nullptr);
  return emit_native(self, record);
}

// logging.Handler.handle without the lock (see the top of this file).
PyObject* core_handle(PyObject* self, PyObject* record) {
  if (configuration.handler_handle == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "_cantina_logging.configure() was not called");
    return nullptr;
  }
  if (core_of(self)->native == 0) {
    return PyObject_CallFunctionObjArgs(configuration.handler_handle, self, record, nullptr);
  }
  Ref filters(PyObject_GetAttr(self, names.filters));
  if (!filters) return nullptr;
  const int filtered = PyObject_IsTrue(filters.get());
  if (filtered < 0) return nullptr;
  Ref accepted;
  if (filtered == 1) {
    accepted = Ref(PyObject_CallMethodObjArgs(self, names.filter, record, nullptr));
    if (!accepted) return nullptr;
    const int is_record = PyObject_IsInstance(accepted.get(), configuration.log_record_type);
    if (is_record < 0) return nullptr;
    if (is_record == 1) record = accepted.get();
    const int pass = PyObject_IsTrue(accepted.get());
    if (pass < 0) return nullptr;
    if (pass == 0) return Py_NewRef(accepted.get());
  }
  PyObject* emitted = emit_native(self, record);
  if (emitted == nullptr) return nullptr;
  Py_DECREF(emitted);
  if (accepted) return Py_NewRef(accepted.get());
  if (configuration.filter_returns_record) return Py_NewRef(record);
  Py_RETURN_TRUE;
}

// _native_attach(library_path, handle, native): records go to the Logger `handle` (an
// address from cantina_logger_open*) of the library at `library_path`, through here when
// `native` is true. OSError if the library cannot be resolved, RuntimeError on a version
// mismatch.
PyObject* core_attach(PyObject* self, PyObject* args) {
  PyObject* path_object = nullptr;
  unsigned long long handle = 0;
  int native = 1;
  if (PyArg_ParseTuple(args, "O&Kp", PyUnicode_FSConverter, &path_object, &handle, &native) == 0) return nullptr;
  Ref path(path_object);
  Core* core = core_of(self);
  core->native = 0;  // until the library is resolved: a failure leaves the Python path in charge
  // The address ctypes holds for the Logger (BusLogger._handle): an integer is all Python can pass.
  core->logger = reinterpret_cast<cantina_logger*>(  // NOLINT(performance-no-int-to-ptr)
      static_cast<std::uintptr_t>(handle));
  core->generation = fork_generation.load(std::memory_order_relaxed);
  if (native == 0) Py_RETURN_NONE;
  // ctypes has loaded this file: dlopen returns the same library (and keeps it loaded).
  void* library = dlopen(PyBytes_AsString(path.get()), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    PyErr_Format(PyExc_OSError, "cannot load %s: %s", PyBytes_AsString(path.get()), dlerror());
    return nullptr;
  }
  auto* version = reinterpret_cast<VersionFunction>(dlsym(library, "cantina_api_version"));
  auto* log = reinterpret_cast<LogFunction>(dlsym(library, "cantina_logger_log"));
  auto* level = reinterpret_cast<LevelFunction>(dlsym(library, "cantina_logger_level"));
  if (version == nullptr || log == nullptr || level == nullptr) {
    PyErr_Format(PyExc_OSError, "%s is not a Cantina bus C library", PyBytes_AsString(path.get()));
    return nullptr;
  }
  if (version() != CANTINA_C_API_VERSION) {
    PyErr_Format(PyExc_RuntimeError, "%s has C API version %d; _cantina_logging needs %d (rebuild)",
                 PyBytes_AsString(path.get()), version(), CANTINA_C_API_VERSION);
    return nullptr;
  }
  core->log = log;
  core->level = level;
  core->native = 1;
  Py_RETURN_NONE;
}

// _native_detach(): no record goes to the Logger any more (call before freeing it).
PyObject* core_detach(PyObject* self, PyObject* /*unused*/) {
  core_of(self)->logger = nullptr;
  Py_RETURN_NONE;
}

PyObject* core_get_native(PyObject* self, void* /*closure*/) {
  return PyBool_FromLong(core_of(self)->native);
}

PyMethodDef core_methods[] = {
    {"handle", core_handle, METH_O, "Filters the record with the handler's filters and emits it."},
    {"emit", core_emit, METH_O, "Queues the record on the bus Logger; never raises (but RecursionError)."},
    {"_native_attach", core_attach, METH_VARARGS, "_native_attach(library_path, handle, native)"},
    {"_native_detach", core_detach, METH_NOARGS, "Forgets the Logger handle."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef core_getset[] = {
    {"native", core_get_native, nullptr, "True if records go to the Logger natively, False through ctypes.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot core_slots[] = {
    {Py_tp_doc, const_cast<char*>("The native base of cantina_logging.CantinaHandler.")},
    {Py_tp_new, reinterpret_cast<void*>(PyType_GenericNew)},
    {Py_tp_methods, core_methods},
    {Py_tp_getset, core_getset},
    {0, nullptr},
};

PyType_Spec core_spec = {
    "_cantina_logging.Core", sizeof(Core), 0, Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, core_slots,
};

// configure(standard_attributes, standard_count, LogRecord, LogRecord.getMessage,
//           Handler.handle, filter_returns_record): the logging module's objects.
PyObject* module_configure(PyObject* /*module*/, PyObject* args) {
  PyObject* standard = nullptr;
  Py_ssize_t count = 0;
  PyObject* record_type = nullptr;
  PyObject* get_message = nullptr;
  PyObject* handle = nullptr;
  int returns_record = 0;
  if (PyArg_ParseTuple(args, "O!nOOOp", &PyFrozenSet_Type, &standard, &count, &record_type, &get_message, &handle,
                       &returns_record) == 0) {
    return nullptr;
  }
  for (PyObject** slot : {&configuration.standard_attributes, &configuration.log_record_type,
                          &configuration.get_message, &configuration.handler_handle}) {
    Py_XDECREF(*slot);
  }
  configuration.standard_attributes = Py_NewRef(standard);
  configuration.log_record_type = Py_NewRef(record_type);
  configuration.get_message = Py_NewRef(get_message);
  configuration.handler_handle = Py_NewRef(handle);
  configuration.standard_count = count;
  configuration.filter_returns_record = returns_record != 0;
  Py_RETURN_NONE;
}

PyMethodDef module_methods[] = {
    {"configure", module_configure, METH_VARARGS,
     "configure(standard_attributes, standard_count, LogRecord, LogRecord.getMessage, Handler.handle, "
     "filter_returns_record)"},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module_definition = {
    PyModuleDef_HEAD_INIT,
    "_cantina_logging",
    "The native half of cantina_logging.CantinaHandler (tools/python/cantina_logging_native.cpp).",
    -1,
    module_methods,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming,bugprone-reserved-identifier): the name Python looks for
PyMODINIT_FUNC PyInit__cantina_logging() {
  if (!intern_names()) return nullptr;
  static bool fork_handler = false;
  if (!fork_handler) {
    if (pthread_atfork(nullptr, nullptr, count_fork_in_child) != 0) {
      PyErr_SetString(PyExc_OSError, "pthread_atfork failed");
      return nullptr;
    }
    fork_handler = true;
  }
  Ref module(PyModule_Create(&module_definition));
  if (!module) return nullptr;
  PyObject* core_type = PyType_FromSpec(&core_spec);
  if (core_type == nullptr) return nullptr;
  if (PyModule_AddObject(module.get(), "Core", core_type) < 0) {
    Py_DECREF(core_type);
    return nullptr;
  }
  if (PyModule_AddIntConstant(module.get(), "C_API_VERSION", CANTINA_C_API_VERSION) < 0) return nullptr;
  PyObject* result = module.get();
  Py_INCREF(result);
  return result;
}
