# BOTGATE_SANITIZE=address,undefined builds everything (tests included) with those sanitizers.
# GCC 12 miscompiles some coroutine code (STYLE.md 4.3 rule 8); ASan is what catches it.
if(BOTGATE_SANITIZE)
  add_compile_options(-fsanitize=${BOTGATE_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${BOTGATE_SANITIZE})
endif()
