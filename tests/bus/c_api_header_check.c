/* Compiled as C (C99, -pedantic): proves that c_api.h is plain C and that a C
 * program can log through it. Called from c_api_test.cpp. */
#include "cantina/bus/c_api.h"

#include <string.h>

int cantina_c_client_log(cantina_logger* logger, const char* message) {
  cantina_field fields[2];
  fields[0].key = "language";
  fields[0].value = "C";
  fields[1].key = "standard";
  fields[1].value = "C99";
  return cantina_logger_log(logger, CANTINA_LEVEL_WARNING, message, strlen(message), "c_client", __FILE__,
                            (uint32_t)__LINE__, __func__, NULL, 0, fields, 2);
}
