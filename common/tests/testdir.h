/* testdir.h - scratch directories for the persister tests and the
 * storage fuzzer's tools (header-only: each test is one program). */
#ifndef COMMON_TESTS_TESTDIR_H_
#define COMMON_TESTS_TESTDIR_H_

#include <dirent.h>
#include <stdio.h>
#include <unistd.h>

/* Delete the files in dir (not subdirectories). */
static inline void testdir_clear(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        char path[4096];
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n > 0 && (size_t)n < sizeof(path) && e->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
}

/* Delete the files in dir, then dir. */
static inline void testdir_remove(const char *dir)
{
    testdir_clear(dir);
    rmdir(dir);
}

#endif /* COMMON_TESTS_TESTDIR_H_ */
