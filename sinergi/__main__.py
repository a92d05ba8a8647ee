from sinergi.cli import main

main()
