# Fails when an #include crosses a line that docs/architecture.md forbids:
#   vision/  : no GLib, GTK, ZeroMQ, models or app headers; OpenCV only in vision/src/cv/*.cpp
#   models/  : no GLib, GTK, ZeroMQ, OpenCV or app headers
#   app/     : no GTK; OpenCV only in the benchmark's reference (app/bench/*.cpp)
#   hmi/     : no ZeroMQ, OpenCV or TurboJPEG
# Run: cmake -DROOT=<source dir> -P check_layering.cmake
set(violations "")
function(check dir globs regex why)
  set(files "")
  foreach(g ${globs})
    file(GLOB_RECURSE f "${ROOT}/${dir}/${g}")
    list(APPEND files ${f})
  endforeach()
  foreach(f ${files})
    file(STRINGS "${f}" lines REGEX "^[ \t]*#[ \t]*include")
    foreach(l ${lines})
      if(l MATCHES "${regex}")
        file(RELATIVE_PATH rel "${ROOT}" "${f}")
        set(violations "${violations}\n  ${rel}: ${l}   (${why})" PARENT_SCOPE)
      endif()
    endforeach()
  endforeach()
endfunction()

set(C_GLOBS "*.c;*.h;*.cpp;*.hpp")
check(vision "${C_GLOBS}" "[<\"](gtk/|glib|gio/|gdk|zmq|czmq|rm/|ra/|rh/|sqlite3|sodium)" "vision stays below models, app and hmi")
check(vision "*.c;*.h" "[<\"]opencv2/" "OpenCV only inside vision/src/cv/*.cpp")
check(models "${C_GLOBS}" "[<\"](gtk/|glib|gio/|gdk|zmq|czmq|opencv2/|ra/|rh/|turbojpeg)" "models depends on vision types and jansson only")
check(app "*.c;*.h" "[<\"](gtk/|gdk|opencv2/|rh/)" "app never includes GTK or OpenCV")
check(hmi "${C_GLOBS}" "[<\"](zmq|czmq|opencv2/|turbojpeg)" "hmi reaches ZeroMQ, OpenCV and TurboJPEG only through app")
# OpenCV in vision: only the shim's C++ file(s) under src/cv/
file(GLOB_RECURSE cpp "${ROOT}/vision/*.cpp")
foreach(f ${cpp})
  if(NOT f MATCHES "/vision/src/cv/")
    set(violations "${violations}\n  ${f}: C++ outside vision/src/cv/")
  endif()
endforeach()

if(violations)
  message(FATAL_ERROR "layering violations:${violations}")
endif()
message(STATUS "layering: no include crosses a forbidden line")
