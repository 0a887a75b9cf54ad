// FunctionRef: a callable passed by reference, for a callback used only during
// the call it is passed to (what C++26 calls std::function_ref). Unlike
// std::function it never allocates and never copies the callable: a call costs
// one indirect call. The callable must outlive the FunctionRef, so take one as a
// parameter only, never store one.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace cantina::bus {

template <class Signature>
class FunctionRef;

template <class R, class... Args>
class FunctionRef<R(Args...)> {
 public:
  // Implicit, like std::function's: a lambda is passed where a FunctionRef is taken.
  template <class F, class = std::enable_if_t<!std::is_same_v<std::remove_cvref_t<F>, FunctionRef> &&
                                              !std::is_function_v<std::remove_reference_t<F>> &&
                                              std::is_invocable_r_v<R, F&, Args...>>>
  FunctionRef(F&& callable) noexcept
      : object_(const_cast<void*>(static_cast<const void*>(std::addressof(callable)))),
        call_([](void* object, Args... args) -> R {
          return std::invoke(*static_cast<std::remove_reference_t<F>*>(object), std::forward<Args>(args)...);
        }) {}

  R operator()(Args... args) const { return call_(object_, std::forward<Args>(args)...); }

 private:
  void* object_;
  R (*call_)(void*, Args...);
};

}  // namespace cantina::bus
