# BOTGATE_SANITIZE=address,undefined builds everything (tests included) with those sanitizers.
# GCC 12 miscompiles some coroutine code (STYLE.md 4.3 rule 8); ASan is what catches it.
include(CheckLinkerFlag)

if(BOTGATE_SANITIZE)
  add_compile_options(-fsanitize=${BOTGATE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BOTGATE_SANITIZE})
  if(BOTGATE_SANITIZE MATCHES "undefined")
    # UBSan's null and alignment checks sit on every member access and reference binding, and
    # each one keeps its own static data: they made each test executable over 1 GB (the build
    # tree 8 GB, more than a CI machine's free disk). ASan already stops a null dereference
    # with a stack, and x86-64 does not fault on misalignment; every other UBSan check stays.
    add_compile_options(-fno-sanitize=null,alignment)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # clang 14 cannot emit UBSan's function-type check data for a coroutine's split parts
    # ("Cannot represent a difference across sections"); the check covers only calls through
    # mistyped function pointers.
    add_compile_options(-fno-sanitize=function)
  endif()
endif()

# Sanitized Debug trees are big: compressed debug sections and packed relative relocations
# (one per pointer in the sanitizers' data) keep objects and executables a fraction of the size.
if(BOTGATE_SANITIZE OR CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_options(-gz)
  add_link_options(-gz)
  check_linker_flag(CXX "-Wl,-z,pack-relative-relocs" BOTGATE_HAVE_PACKED_RELOCS)
  if(BOTGATE_HAVE_PACKED_RELOCS)
    add_link_options(-Wl,-z,pack-relative-relocs)
  endif()
endif()
