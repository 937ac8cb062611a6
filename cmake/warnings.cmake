# Applied to every botgate target through botgate_warnings.
add_library(botgate_warnings INTERFACE)
target_compile_options(botgate_warnings INTERFACE -Wall -Wextra -Wpedantic)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  # GCC 12 reports Asio's own awaitable frame allocator (operator new/delete pairs it cannot
  # match up across the coroutine frame) as mismatched; a false positive in library code.
  target_compile_options(botgate_warnings INTERFACE -Wno-mismatched-new-delete)
endif()
if(BOTGATE_WARNINGS_AS_ERRORS)
  target_compile_options(botgate_warnings INTERFACE -Werror)
endif()
