# Helpers that give every candor target the same flags, include root and test wiring.

set(CANDOR_WARNING_FLAGS
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
    -Wold-style-cast -Wconversion -Wsign-conversion -Werror)

if(CANDOR_SANITIZE)
  add_compile_options(-fsanitize=${CANDOR_SANITIZE} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${CANDOR_SANITIZE})
endif()

# candor_warnings(<target>): warnings as errors, for candor's own code only.
function(candor_warnings target)
  target_compile_options(${target} PRIVATE ${CANDOR_WARNING_FLAGS})
endfunction()

# candor_library(<name> SRCS ... [DEPS ...] [PRIVATE_DEPS ...])
# A static library rooted at the repository so includes read "store/series_store.h".
function(candor_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SRCS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  candor_warnings(${name})
endfunction()

# candor_test(<name> SRCS ... [DEPS ...] [LABELS unit|integration|e2e|gpu] [TIMEOUT s]
#             [ARGS ...])
# One GoogleTest executable registered as one ctest test. Tests find the repository, the
# build tree and the shared data folder through environment variables, never fixed paths.
function(candor_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SRCS;DEPS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${ARG_SRCS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  candor_warnings(${name})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  set_tests_properties(${name} PROPERTIES
    LABELS "${ARG_LABELS}"
    TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "CANDOR_SOURCE_DIR=${PROJECT_SOURCE_DIR};CANDOR_BINARY_DIR=${PROJECT_BINARY_DIR};CANDOR_SHARED_DIR=${CANDOR_SHARED_DIR}")
endfunction()
