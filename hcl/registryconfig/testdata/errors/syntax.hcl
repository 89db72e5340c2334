listen = "127.0.0.1:8480" # ok
data_dir = "x" "y" # ERROR: Missing newline after argument
