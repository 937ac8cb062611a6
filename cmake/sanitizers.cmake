# BOTGATE_SANITIZE=address,undefined builds everything (tests included) with those sanitizers.
# GCC 12 miscompiles some coroutine code (STYLE.md 4.3 rule 8); ASan is what catches it.
if(BOTGATE_SANITIZE)
  add_compile_options(-fsanitize=${BOTGATE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BOTGATE_SANITIZE})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit UBSan's function-type check data for a coroutine's split parts
    # ("Cannot represent a difference across sections"); the check covers only calls through
    # mistyped function pointers.
    add_compile_options(-fno-sanitize=function)
  endif()
endif()
