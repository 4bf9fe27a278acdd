/* version.h - the release every program reports for --version. */
#ifndef COMMON_VERSION_H_
#define COMMON_VERSION_H_

#define LAB_VERSION "6.5840-c 1.1"

#endif /* COMMON_VERSION_H_ */
